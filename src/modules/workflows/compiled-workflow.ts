import type { WorkflowDocument } from './document.ts';
import type { GraphAnalysis, GraphEdge } from './graph.ts';
import type { AnyNodeDefinition } from './node-definition.ts';

/**
 * A workflow that passed validation: node configurations parsed by their schemas and the graph
 * analysed. Only `validateWorkflow` makes one, and only this runs.
 */

export interface CompiledNode {
  id: string;
  type: string;
  definition: AnyNodeDefinition;
  /** `data` parsed by the node type's schema (defaults applied). */
  config: unknown;
  branches: readonly string[] | undefined;
  subgraph: CompiledGraph | undefined;
}

export interface CompiledGraph {
  nodes: ReadonlyMap<string, CompiledNode>;
  edges: readonly GraphEdge[];
  analysis: GraphAnalysis;
  startId: string;
  /** End nodes in topological order: the order their answers are joined in. */
  endIds: readonly string[];
}

export interface Workflow {
  document: WorkflowDocument;
  graph: CompiledGraph;
}
