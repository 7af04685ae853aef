/**
 * The narrow contract of a rerank API: given a query and candidate passages, score each passage's
 * relevance. Optional in the product — search works without one; with one, the engine's candidates
 * are re-ordered by a cross-encoder, which usually beats both BM25 and vector similarity.
 */
export type RerankFormat = 'cohere' | 'tei';

export interface RerankResult {
  /** Position of the passage in the `documents` given to `rerank`. */
  index: number;
  /** The model's relevance score; higher is better (Cohere, Voyage and TEI: 0…1). */
  score: number;
}

export interface Reranker {
  /** Which wire format this client speaks. */
  readonly format: RerankFormat;
  /** The model sent with each request, when the API takes one. */
  readonly modelId: string | undefined;
  /** Scores every document, best first. */
  rerank(query: string, documents: readonly string[], options?: { signal?: AbortSignal }): Promise<RerankResult[]>;
}

/** A rerank call that failed; says whether trying again can help. */
export class RerankError extends Error {
  readonly retryable: boolean;
  readonly status: number | undefined;
  constructor(message: string, options: { retryable: boolean; status?: number; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.name = 'RerankError';
    this.retryable = options.retryable;
    this.status = options.status;
  }
}
