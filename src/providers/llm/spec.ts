import type { LlmProviderName } from '../../config.ts';

/**
 * One streaming interface for every chat model (Anthropic, OpenAI, Bedrock Converse,
 * OpenAI-compatible servers). Callers iterate events; the final event carries usage.
 */
export interface LlmMessage {
  role: 'user' | 'assistant';
  content: string;
}

export interface LlmRequest {
  system: string;
  messages: LlmMessage[];
  temperature?: number;
  maxTokens?: number;
  signal?: AbortSignal;
}

export interface LlmUsage {
  inputTokens: number;
  outputTokens: number;
}

export type LlmEvent =
  | { type: 'text'; text: string }
  | { type: 'finish'; usage: LlmUsage; finishReason: string; provider: LlmProviderName; model: string };

/** A whole answer at once (query rewriting, workflow nodes). */
export interface LlmCompletion {
  text: string;
  usage: LlmUsage;
  finishReason: string;
  provider: LlmProviderName;
  model: string;
}

export interface LlmModel {
  readonly provider: LlmProviderName;
  readonly modelId: string;
  stream(request: LlmRequest): AsyncIterable<LlmEvent>;
  /** The provider's non-streaming call; when absent, `complete()` collects `stream()`. */
  generate?(request: LlmRequest): Promise<LlmCompletion>;
}

/** A provider error that says whether a retry or the fallback provider can help. */
export class LlmError extends Error {
  readonly retryable: boolean;
  readonly status: number | undefined;
  constructor(message: string, options: { retryable: boolean; status?: number; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.name = 'LlmError';
    this.retryable = options.retryable;
    this.status = options.status;
  }
}
