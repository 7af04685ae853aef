import type { z } from 'zod';
import type { LlmMessage, LlmUsage } from '../../providers/llm/spec.ts';
import type { Subgraph } from './document.ts';
import type { Source } from './sources.ts';
import type { NodeTrace } from './trace.ts';
import type { VarType } from './value-types.ts';
import type { VariableScope } from './variables.ts';
import type { ResolvedWorkflowDeps } from './workflow-deps.ts';

/**
 * A node type is data plus one typed function: a zod schema of its configuration (`data` in the
 * document), the outputs it declares with their types, the variables it reads, and `run`. Adding a
 * node type is one file in `nodes/` and one line in `nodes/registry.ts`.
 */

/** How a node reads variables, declared so the validator checks every reference before a run. */
export type VariableUse =
  /** Text with `{{…}}` references substituted as strings. */
  | { field: string; kind: 'template'; text: string }
  /** Exactly one reference whose value is used as it is (a list stays a list). */
  | { field: string; kind: 'reference'; text: string; accepts?: readonly VarType[] | undefined };

export interface TypeInfo {
  /** Declared type of a single reference such as `{{knowledge_1.sources}}`; `any` when unknown. */
  typeOf(reference: string): VarType;
}

export interface SubgraphSpec {
  graph: Subgraph;
  /** Variables the sub-graph reads under the owning node's id, e.g. `{{iteration_1.item}}`. */
  variables: Record<string, VarType>;
}

export interface NodeDefinition<C> {
  type: string;
  /** One line for an editor's palette. */
  description: string;
  configSchema: z.ZodType<C>;
  outputs(config: C, types: TypeInfo): Record<string, VarType>;
  uses(config: C): VariableUse[];
  /** Type rules that involve several variables (e.g. all inputs of an aggregator share a type). */
  checkTypes?(config: C, types: TypeInfo): Array<{ field: string; message: string }>;
  /** Branch handles (edges' `source_handle`); absent for a node that continues on every edge. */
  branches?(config: C): string[];
  /** The output streamed token by token while the node runs (an LLM's `text`). */
  streams?: string;
  /** `start` is where a run begins; `end` nodes produce the answer. */
  role?: 'start' | 'end';
  /** For end nodes: the answer template and the references of the sources it cites (for streaming). */
  answer?(config: C): { template: string; sources: readonly string[] };
  /** A node that runs a nested graph (iteration). */
  subgraph?(config: C, types: TypeInfo): SubgraphSpec;
  run(config: C, ctx: NodeContext): Promise<NodeResult>;
}

/** A definition with its configuration type erased, as the registry holds it. */
export type AnyNodeDefinition = NodeDefinition<unknown>;

/** Erases the configuration type; safe because the executor only passes configs parsed by `configSchema`. */
export function defineNode<C>(definition: NodeDefinition<C>): AnyNodeDefinition {
  return definition as unknown as AnyNodeDefinition;
}

export interface RunInput {
  botId: string;
  message: string;
  history?: LlmMessage[] | undefined;
  sessionId?: string | undefined;
  /** Lets the caller create the run's row before the run starts; random when absent. */
  runId?: string | undefined;
  signal?: AbortSignal | undefined;
}

export interface SubgraphRun {
  answer: string;
  sources: Source[];
  trace: NodeTrace[];
}

export interface NodeContext {
  nodeId: string;
  runId: string;
  botId: string;
  input: { message: string; history: LlmMessage[]; sessionId: string };
  /** Aborted when the run fails elsewhere, runs out of time, or the caller gives up. */
  signal: AbortSignal;
  deps: ResolvedWorkflowDeps;
  scope: VariableScope;
  render(template: string): string;
  /** A single reference's value as it is, or rendered text when `text` is more than one reference. */
  resolve(text: string): unknown;
  /** Passes streamed output on to the answer; does nothing when this node does not feed it. */
  stream(text: string): void;
  addUsage(usage: LlmUsage): void;
  /** Runs the node's sub-graph once with `variables` under the node's id. */
  runSubgraph(variables: Record<string, unknown>, signal: AbortSignal): Promise<SubgraphRun>;
}

export interface NodeResult {
  outputs: Record<string, unknown>;
  /** The handle taken, for branching nodes. */
  branch?: string | undefined;
  /** Resolved inputs, recorded in the trace. */
  inputs?: Record<string, unknown> | undefined;
  /** Anything else worth seeing in the trace (a classifier's raw answer, per-item traces). */
  details?: Record<string, unknown> | undefined;
}

/** A node failure with a stable code, e.g. `llm_unavailable`, `http_blocked`, `extraction_failed`. */
export class WorkflowNodeError extends Error {
  readonly code: string;
  /** Kept in the failed node's trace (e.g. the per-item traces of an iteration). */
  readonly details: Record<string, unknown> | undefined;
  constructor(code: string, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, { cause: options.cause });
    this.name = 'WorkflowNodeError';
    this.code = code;
    this.details = options.details;
  }
}
