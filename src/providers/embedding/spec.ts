/**
 * The narrow contract every embedding provider implements. Providers only know how to turn one
 * batch of texts into vectors (`doEmbed`); batching, concurrency limits, retries and timeouts are
 * written once in `embedder.ts` and wrap any provider.
 */
export type EmbeddingPurpose = 'document' | 'query';

export interface EmbeddingProvider {
  /** `bedrock`, `openai`, `local`. */
  readonly provider: string;
  readonly modelId: string;
  readonly dimensions: number;
  /** Most texts one `doEmbed` call accepts (Titan v2 takes one, OpenAI-compatible servers many). */
  readonly maxBatchSize: number;
  /** Most calls worth running at once (a local model on the CPU: 1). Default: the embedder's setting. */
  readonly maxConcurrency?: number;
  doEmbed(texts: string[], options: { purpose: EmbeddingPurpose; signal: AbortSignal }): Promise<number[][]>;
  /**
   * One-time set-up that must not count against a call's timeout (a local model's download and
   * load). Memoised by the provider; the embedder awaits it before the first call.
   */
  prepare?(signal: AbortSignal): Promise<void>;
}

/** What the rest of the product uses: any number of texts, batched, limited, retried. */
export interface Embedder {
  /** Stored on every chunk, e.g. `bedrock:amazon.titan-embed-text-v2:0@1024`. */
  readonly modelKey: string;
  readonly dimensions: number;
  embed(texts: string[], options?: { purpose?: EmbeddingPurpose; signal?: AbortSignal }): Promise<number[][]>;
}

/**
 * A provider error that says whether trying again can help (429, 5xx, timeouts: yes) and, when
 * the provider said so (`Retry-After`), how long to wait first.
 */
export class EmbeddingError extends Error {
  readonly retryable: boolean;
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;
  constructor(
    message: string,
    options: { retryable: boolean; status?: number; retryAfterMs?: number; cause?: unknown },
  ) {
    super(message, { cause: options.cause });
    this.name = 'EmbeddingError';
    this.retryable = options.retryable;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
  }
}
