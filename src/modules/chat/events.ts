import { AppError } from '../../platform/errors.ts';
import { LlmError } from '../../providers/llm/spec.ts';
import type { SourceDto } from '../retrieval/service.ts';
import type { ChatMode } from './repo.ts';

/**
 * What a chat turn streams, in order: `sources` (exactly the passages the answer was given), then
 * `delta`s, then exactly one `done` or `error`. Field names are snake_case: they go to clients
 * as they are (SSE `data`, or folded into the JSON answer).
 */
export type ChatErrorCode =
  | 'provider_error'
  | 'provider_unavailable'
  | 'workflow_failed'
  | 'internal_error'
  | 'cancelled';

export interface TurnUsage {
  input_tokens: number;
  output_tokens: number;
}

export type ChatEvent =
  | { type: 'sources'; sources: SourceDto[] }
  | { type: 'delta'; text: string }
  | {
      type: 'done';
      message_id: string;
      session_id: string;
      mode: ChatMode;
      usage: TurnUsage;
      cost_usd: number | null;
      provider: string | null;
      model: string | null;
    }
  | { type: 'error'; code: ChatErrorCode; detail: string; message_id: string; session_id: string };

/** Costs are kept to 1e-8 USD (the column's scale), so sums never show float noise. */
export function roundUsd(usd: number): number {
  return Math.round(usd * 1e8) / 1e8;
}

/** The stable code and a caller-safe message for whatever ended a turn. */
export function describeFailure(err: unknown, signal: AbortSignal): { code: ChatErrorCode; detail: string } {
  if (signal.aborted) return { code: 'cancelled', detail: 'The client went away; the answer was stopped' };
  if (err instanceof LlmError) return { code: 'provider_error', detail: `The language model failed: ${err.message}` };
  if (err instanceof AppError) {
    switch (err.code) {
      case 'provider_unavailable':
      case 'provider_error':
      case 'workflow_failed':
        return { code: err.code, detail: err.message };
      default:
        return { code: 'internal_error', detail: err.message };
    }
  }
  return { code: 'internal_error', detail: 'The answer failed because of an internal error' };
}
