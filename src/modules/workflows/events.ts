import type { Source } from './sources.ts';
import type { NodeStatus, RunError, RunTrace, TokenUsage } from './trace.ts';

/**
 * What a run streams, in order: node events as nodes start and settle, the answer as `sources`
 * then `delta`s, and exactly one final event — `done` with the result or `error` naming the node
 * that failed. Field names are snake_case because these go to clients as they are (SSE).
 *
 * Guarantees (tested): the `delta` texts joined equal `done.answer`; an end node's `sources` event
 * comes before its first delta; nothing follows the final event.
 */
export type WorkflowEvent =
  | { type: 'run_started'; run_id: string }
  | { type: 'node_started'; node_id: string; node_type: string; started_at: string }
  | {
      type: 'node_finished';
      node_id: string;
      node_type: string;
      status: Exclude<NodeStatus, 'not_run'>;
      duration_ms?: number | undefined;
      branch?: string | undefined;
      usage?: TokenUsage | undefined;
      error?: { code: string; message: string } | undefined;
    }
  | { type: 'sources'; sources: Source[] }
  | { type: 'delta'; text: string }
  | {
      type: 'done';
      run_id: string;
      answer: string;
      sources: Source[];
      usage: TokenUsage;
      trace: RunTrace;
    }
  | {
      type: 'error';
      run_id: string;
      code: string;
      message: string;
      node_id?: string | undefined;
      trace: RunTrace;
    };

export type WorkflowEventType = WorkflowEvent['type'];

/** Node ids and messages of `error` events are also in `trace.error`; this is a shortcut for callers. */
export type WorkflowFailure = RunError;
