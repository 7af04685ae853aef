import type { Source } from './sources.ts';

/**
 * What a run leaves behind for the editor's test panel and the runs table: per node its status,
 * inputs, outputs, timing, tokens and error. Large strings are cut so a stored trace stays small.
 */

export type NodeStatus = 'succeeded' | 'failed' | 'skipped' | 'cancelled' | 'not_run';

export interface TokenUsage {
  input_tokens: number;
  output_tokens: number;
}

export interface RunError {
  /** `node_failed` codes come from the node (`llm_error`, `http_blocked`…); budgets and aborts are run-level. */
  code: string;
  message: string;
  node_id?: string | undefined;
  node_type?: string | undefined;
}

export interface NodeTrace {
  node_id: string;
  node_type: string;
  status: NodeStatus;
  /** The handle a branching node took. */
  branch?: string | undefined;
  started_at?: string | undefined;
  finished_at?: string | undefined;
  duration_ms?: number | undefined;
  inputs?: Record<string, unknown> | undefined;
  outputs?: Record<string, unknown> | undefined;
  details?: Record<string, unknown> | undefined;
  usage?: TokenUsage | undefined;
  error?: { code: string; message: string } | undefined;
}

export interface RunTrace {
  run_id: string;
  status: 'succeeded' | 'failed';
  started_at: string;
  finished_at: string;
  duration_ms: number;
  /** Node executions started, iterations' inner nodes included. */
  steps: number;
  usage: TokenUsage;
  /** Every node of the top-level graph, in topological order. */
  nodes: NodeTrace[];
  error?: RunError | undefined;
}

export interface WorkflowRunResult {
  status: 'succeeded' | 'failed';
  answer: string;
  sources: Source[];
  usage: TokenUsage;
  trace: RunTrace;
  error?: RunError | undefined;
}

/** A copy of `value` with long strings cut and long lists shortened, for storing in a trace. */
export function boundForTrace(value: unknown, maxChars: number, depth = 0): unknown {
  if (typeof value === 'string') {
    return value.length <= maxChars ? value : `${value.slice(0, maxChars)}… [${value.length - maxChars} more chars]`;
  }
  if (value === null || typeof value !== 'object') return value;
  if (depth >= 8) return '[nested too deep]';
  if (Array.isArray(value)) {
    const items = value.slice(0, 100).map((v) => boundForTrace(v, maxChars, depth + 1));
    if (value.length > 100) items.push(`… [${value.length - 100} more items]`);
    return items;
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = boundForTrace(v, maxChars, depth + 1);
  return out;
}
