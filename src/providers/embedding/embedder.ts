import { raceAbort } from '../../platform/abort.ts';
import type { Embedder, EmbeddingProvider, EmbeddingPurpose } from './spec.ts';
import { EmbeddingError } from './spec.ts';

/** The part of a pino logger the embedder uses: one warning per retried call. */
export interface EmbedderLog {
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface EmbedderOptions {
  /** Most texts per provider call; the provider's own `maxBatchSize` caps it further. */
  batchSize: number;
  /** Most provider calls in flight at once, shared by every `embed` here; capped by the provider's own limit. */
  concurrency: number;
  /** Document embeddings: retries after the first attempt for retryable failures (429, 5xx, timeouts, network). Default 4. */
  maxRetries?: number;
  /** Document embeddings: per provider call. Default 30 s. */
  timeoutMs?: number;
  /** First backoff step; doubles each retry, with jitter. Default 500 ms. */
  retryBaseDelayMs?: number;
  /** Document embeddings: longest wait between attempts, `Retry-After` included. Default 30 s. */
  maxRetryDelayMs?: number;
  /** The same three for query embeddings, which a user waits on. Default 1 retry, 5 s, 1 s. */
  query?: Partial<RetryBudget>;
  log?: EmbedderLog;
}

interface RetryBudget {
  maxRetries: number;
  timeoutMs: number;
  maxRetryDelayMs: number;
}

/**
 * A search or chat turn waits on its query's embedding, and hybrid search answers from full-text
 * when it fails: better to fail fast than to retry for minutes like a background ingestion job.
 */
const QUERY_BUDGET: RetryBudget = { maxRetries: 1, timeoutMs: 5_000, maxRetryDelayMs: 1_000 };

/**
 * Wraps any provider with what every provider needs and none should write again: batching to
 * the provider's limit, a concurrency cap shared by all callers (queries jump ahead of document
 * batches so chat stays responsive during ingestion), retries with exponential backoff and
 * jitter that honour `Retry-After`, a per-call timeout, cancellation, and vectors returned in
 * input order. Provider failures surface as `EmbeddingError`; a caller's abort as its reason.
 */
export function createEmbedder(provider: EmbeddingProvider, options: EmbedderOptions): Embedder {
  const batchSize = Math.max(1, Math.min(options.batchSize, provider.maxBatchSize));
  const concurrency = Math.max(1, Math.min(options.concurrency, provider.maxConcurrency ?? Number.POSITIVE_INFINITY));
  const baseDelayMs = options.retryBaseDelayMs ?? 500;
  const budgets: Record<EmbeddingPurpose, RetryBudget> = {
    document: {
      maxRetries: options.maxRetries ?? 4,
      timeoutMs: options.timeoutMs ?? 30_000,
      maxRetryDelayMs: options.maxRetryDelayMs ?? 30_000,
    },
    query: { ...QUERY_BUDGET, ...options.query },
  };
  const slots = createSlots(concurrency);
  const modelKey = modelKeyOf(provider);

  async function withRetries<T>(
    what: string,
    budget: RetryBudget,
    signal: AbortSignal,
    call: () => Promise<T>,
  ): Promise<T> {
    const { maxRetries, maxRetryDelayMs: maxDelayMs } = budget;
    for (let attempt = 0; ; attempt++) {
      let failure: EmbeddingError;
      try {
        return await call();
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        failure = asEmbeddingError(error, provider.provider);
      }
      if (!failure.retryable || attempt >= maxRetries) throw failure;
      const backoff = Math.min(maxDelayMs, baseDelayMs * 2 ** attempt);
      const delayMs = Math.round(
        Math.min(maxDelayMs, failure.retryAfterMs ?? backoff / 2 + (Math.random() * backoff) / 2),
      );
      options.log?.warn(
        {
          provider: provider.provider,
          model: provider.modelId,
          what,
          attempt: attempt + 1,
          delayMs,
          status: failure.status,
          err: failure.message,
        },
        'embedding call failed, retrying',
      );
      await sleep(delayMs, signal);
    }
  }

  async function callProvider(texts: string[], purpose: EmbeddingPurpose, signal: AbortSignal): Promise<number[][]> {
    const { timeoutMs } = budgets[purpose];
    const release = await slots.acquire(purpose, signal);
    const timeout = new AbortController();
    const timer = setTimeout(
      () =>
        timeout.abort(
          new EmbeddingError(`${provider.provider} embedding call timed out after ${timeoutMs} ms`, {
            retryable: true,
          }),
        ),
      timeoutMs,
    );
    const callSignal = AbortSignal.any([signal, timeout.signal]);
    try {
      const vectors = await raceAbort(provider.doEmbed(texts, { purpose, signal: callSignal }), callSignal);
      checkVectors(vectors, texts.length, provider);
      return vectors;
    } catch (error) {
      if (timeout.signal.aborted && !signal.aborted) throw timeout.signal.reason;
      throw error;
    } finally {
      clearTimeout(timer);
      release();
    }
  }

  return {
    modelKey,
    dimensions: provider.dimensions,
    async embed(texts, embedOptions = {}) {
      const purpose = embedOptions.purpose ?? 'document';
      const callerSignal = embedOptions.signal;
      callerSignal?.throwIfAborted();
      if (texts.length === 0) return [];
      const empty = texts.findIndex((t) => typeof t !== 'string' || t.trim() === '');
      if (empty !== -1) {
        throw new EmbeddingError(`text ${empty} is empty; providers reject empty input`, { retryable: false });
      }

      // One failed batch cancels its siblings; the caller's abort cancels everything.
      const failed = new AbortController();
      const signal = callerSignal ? AbortSignal.any([callerSignal, failed.signal]) : failed.signal;
      if (provider.prepare) {
        const prepare = provider.prepare.bind(provider);
        await withRetries('prepare', budgets[purpose], signal, () => raceAbort(prepare(signal), signal));
      }

      const results = new Array<number[]>(texts.length);
      let next = 0;
      const work = async () => {
        while (next * batchSize < texts.length && !signal.aborted) {
          const start = next++ * batchSize;
          const batch = texts.slice(start, start + batchSize);
          const vectors = await withRetries('embed', budgets[purpose], signal, () =>
            callProvider(batch, purpose, signal),
          );
          vectors.forEach((v, i) => {
            results[start + i] = v;
          });
        }
      };
      const workers = Math.min(concurrency, Math.ceil(texts.length / batchSize));
      let firstError: { error: unknown } | undefined;
      await Promise.all(
        Array.from({ length: workers }, () =>
          work().catch((error: unknown) => {
            if (firstError) return;
            firstError = { error };
            failed.abort(error);
          }),
        ),
      );
      if (callerSignal?.aborted) throw callerSignal.reason;
      if (firstError) throw firstError.error;
      return results;
    },
  };
}

/** What chunks record as the model that made them: `provider:modelId@dimensions`. */
export function modelKeyOf(provider: Pick<EmbeddingProvider, 'provider' | 'modelId' | 'dimensions'>): string {
  return `${provider.provider}:${provider.modelId}@${provider.dimensions}`;
}

/**
 * A counting semaphore with two queues: waiting query calls are served before document batches.
 * A waiter whose signal aborts leaves the queue.
 */
function createSlots(limit: number) {
  let active = 0;
  const queues: Record<EmbeddingPurpose, Array<() => void>> = { query: [], document: [] };
  const release = () => {
    const next = queues.query.shift() ?? queues.document.shift();
    if (next) next();
    else active--;
  };
  return {
    acquire(purpose: EmbeddingPurpose, signal: AbortSignal): Promise<() => void> {
      signal.throwIfAborted();
      if (active < limit) {
        active++;
        return Promise.resolve(once(release));
      }
      return new Promise((resolve, reject) => {
        const queue = queues[purpose];
        const grant = () => {
          signal.removeEventListener('abort', onAbort);
          resolve(once(release));
        };
        const onAbort = () => {
          const i = queue.indexOf(grant);
          if (i !== -1) queue.splice(i, 1);
          reject(signal.reason);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        queue.push(grant);
      });
    },
  };
}

function once(fn: () => void): () => void {
  let called = false;
  return () => {
    if (called) return;
    called = true;
    fn();
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    signal.throwIfAborted();
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function checkVectors(vectors: unknown, count: number, provider: EmbeddingProvider): asserts vectors is number[][] {
  const ok =
    Array.isArray(vectors) &&
    vectors.length === count &&
    vectors.every((v) => Array.isArray(v) && v.length === provider.dimensions && v.every(Number.isFinite));
  if (ok) return;
  const got = Array.isArray(vectors)
    ? `${vectors.length} vector(s) of size ${[...new Set(vectors.map((v) => (Array.isArray(v) ? v.length : typeof v)))].join('/')}`
    : typeof vectors;
  throw new EmbeddingError(
    `${provider.provider} model ${provider.modelId} returned ${got}; expected ${count} of size ${provider.dimensions}`,
    { retryable: false },
  );
}

function asEmbeddingError(error: unknown, provider: string): EmbeddingError {
  if (error instanceof EmbeddingError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new EmbeddingError(`${provider} embedding failed: ${message}`, { retryable: false, cause: error });
}
