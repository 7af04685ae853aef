import type { Embedder, EmbeddingPurpose } from './spec.ts';

export interface CoalesceOptions {
  /** Most texts in one merged provider call (the embedder's batch size). */
  maxBatch: number;
  /** How long a request waits for company while a provider slot is free. */
  maxWaitMs: number;
  /** Provider calls the wrapped embedder runs at once: while all are busy, requests keep merging. */
  concurrency: number;
}

interface Waiting {
  texts: string[];
  resolve(vectors: number[][]): void;
  reject(err: unknown): void;
}

/**
 * Merges document-embedding requests from many documents into shared provider batches, so
 * ingesting many small documents costs a few full calls instead of one small call per document.
 *
 * While a provider slot is free, a request waits at most `maxWaitMs` for others to join it (a lone
 * document is not held back). While every slot is busy, waiting costs nothing — the call could not
 * start anyway — so requests keep merging until a call ends, and then all of them (up to a full
 * batch per call) go out together. Queries bypass it: they must not wait behind documents.
 */
export function coalesceEmbedder(inner: Embedder, options: CoalesceOptions): Embedder {
  const maxBatch = Math.max(1, options.maxBatch);
  const concurrency = Math.max(1, options.concurrency);
  const pending: Waiting[] = [];
  let pendingTexts = 0;
  let timer: NodeJS.Timeout | undefined;
  /** Provider calls started through this wrapper and not yet answered. */
  let inFlight = 0;

  /** Counts the calls `inner.embed` will make for `count` texts until they settle. */
  const tracked = <T>(count: number, run: () => Promise<T>): Promise<T> => {
    const calls = Math.ceil(count / maxBatch);
    inFlight += calls;
    return run().finally(() => {
      inFlight -= calls;
      // A slot came free: whatever queued while all were busy has waited long enough.
      if (pending.length > 0 && inFlight < concurrency) flush();
    });
  };

  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    // Full batches for every free slot (at least one batch, so progress never stalls).
    const budget = Math.max(1, concurrency - inFlight) * maxBatch;
    const batch: Waiting[] = [];
    let texts = 0;
    while (pending.length > 0 && (batch.length === 0 || texts + pending[0]!.texts.length <= budget)) {
      const next = pending.shift()!;
      batch.push(next);
      texts += next.texts.length;
    }
    pendingTexts -= texts;
    if (batch.length === 0) return;
    tracked(texts, () =>
      inner.embed(
        batch.flatMap((w) => w.texts),
        { purpose: 'document' },
      ),
    ).then(
      (vectors) => {
        let at = 0;
        for (const w of batch) {
          w.resolve(vectors.slice(at, at + w.texts.length));
          at += w.texts.length;
        }
      },
      (err) => {
        for (const w of batch) w.reject(err);
      },
    );
    if (pending.length > 0) schedule();
  };

  /** Flushes now when a slot is free and a batch is full, shortly when a slot is free, else on the next call's end. */
  const schedule = () => {
    if (inFlight >= concurrency) return;
    if (pendingTexts >= maxBatch) flush();
    else timer ??= setTimeout(flush, options.maxWaitMs);
  };

  return {
    modelKey: inner.modelKey,
    dimensions: inner.dimensions,
    embed(texts, embedOptions: { purpose?: EmbeddingPurpose; signal?: AbortSignal } = {}) {
      if (embedOptions.purpose === 'query') return inner.embed(texts, embedOptions);
      if (texts.length >= maxBatch) return tracked(texts.length, () => inner.embed(texts, embedOptions));
      const signal = embedOptions.signal;
      signal?.throwIfAborted();
      return new Promise<number[][]>((resolve, reject) => {
        const waiting: Waiting = {
          texts,
          resolve: (v) => {
            signal?.removeEventListener('abort', onAbort);
            resolve(v);
          },
          reject: (e) => {
            signal?.removeEventListener('abort', onAbort);
            reject(e);
          },
        };
        // Aborted before its batch left: drop it from the queue. Once sent, the merged call runs
        // on for the other documents and this one simply ignores its vectors.
        const onAbort = () => {
          const at = pending.indexOf(waiting);
          if (at !== -1) {
            pending.splice(at, 1);
            pendingTexts -= texts.length;
          }
          reject(signal?.reason);
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        pending.push(waiting);
        pendingTexts += texts.length;
        schedule();
      });
    },
  };
}
