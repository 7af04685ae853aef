import { z } from 'zod';
import type { AnyNodeDefinition } from '../node-definition.ts';
import { conditionNode } from './condition.ts';
import { answerNode, endNode } from './end.ts';
import { httpRequestNode } from './http-request.ts';
import { iterationNode } from './iteration.ts';
import { knowledgeNode } from './knowledge.ts';
import { llmNode } from './llm.ts';
import { parameterExtractorNode } from './parameter-extractor.ts';
import { questionClassifierNode } from './question-classifier.ts';
import { startNode } from './start.ts';
import { templateNode } from './template.ts';
import { variableAggregatorNode } from './variable-aggregator.ts';

/**
 * Every node type, listed by hand. There is deliberately no `code` node: running user code safely
 * needs a maintained sandbox with memory and time limits and no host access, and none is part of
 * this product (see docs/workflows/README.md).
 */
export type NodeRegistry = ReadonlyMap<string, AnyNodeDefinition>;

export function createNodeRegistry(definitions: readonly AnyNodeDefinition[]): NodeRegistry {
  const registry = new Map<string, AnyNodeDefinition>();
  for (const d of definitions) {
    if (registry.has(d.type)) throw new Error(`Node type "${d.type}" is registered twice`);
    registry.set(d.type, d);
  }
  return registry;
}

export const nodeRegistry: NodeRegistry = createNodeRegistry([
  startNode,
  knowledgeNode,
  llmNode,
  endNode,
  answerNode,
  conditionNode,
  questionClassifierNode,
  templateNode,
  httpRequestNode,
  variableAggregatorNode,
  parameterExtractorNode,
  iterationNode,
]);

export interface NodeTypeDescription {
  type: string;
  description: string;
  role?: 'start' | 'end' | undefined;
  /** Whether edges leaving it carry a `source_handle` (its branches depend on its configuration). */
  branching: boolean;
  /** The output streamed into the answer, if any. */
  streams?: string | undefined;
  /** JSON Schema of `data`, as the editor may send it (before defaults). */
  config_schema: Record<string, unknown>;
}

/** What an editor needs to offer the node types and build their forms. */
export function describeNodeTypes(registry: NodeRegistry = nodeRegistry): NodeTypeDescription[] {
  return [...registry.values()].map((d) => ({
    type: d.type,
    description: d.description,
    role: d.role,
    branching: d.branches !== undefined,
    streams: d.streams,
    config_schema: z.toJSONSchema(d.configSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>,
  }));
}
