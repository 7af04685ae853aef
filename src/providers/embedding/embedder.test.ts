import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import {
  type FakeOpenAIEmbeddings,
  fakeEmbedding,
  startFakeOpenAIEmbeddings,
} from '../../../test/fakes/openai-embeddings.ts';
import { createEmbedder, type EmbedderOptions } from './embedder.ts';
import { createOpenAIProvider } from './openai.ts';
import type { EmbeddingProvider } from './spec.ts';
import { EmbeddingError } from './spec.ts';

const DIMS = 16;
let fake: FakeOpenAIEmbeddings;

before(async () => {
  fake = await startFakeOpenAIEmbeddings({ dimensions: DIMS });
});
after(() => fake.close());
beforeEach(() => {
  fake.setLatency(0);
  fake.resetStats();
});

function openai(overrides: { maxBatchSize?: number; model?: string; dimensions?: number } = {}) {
  return createOpenAIProvider({
    baseURL: fake.url,
    apiKey: fake.apiKey,
    model: overrides.model ?? 'test-embed',
    dimensions: 'dimensions' in overrides ? overrides.dimensions : DIMS,
    ...(overrides.maxBatchSize ? { maxBatchSize: overrides.maxBatchSize } : {}),
  });
}

function embedder(provider: EmbeddingProvider, options: Partial<EmbedderOptions> = {}) {
  return createEmbedder(provider, { batchSize: 8, concurrency: 2, retryBaseDelayMs: 10, ...options });
}

const texts = (n: number, prefix = 'text') =>
  Array.from({ length: n }, (_, i) => `${prefix} number ${i} about refunds`);

describe('createEmbedder', () => {
  it('names the model by provider, model and size', () => {
    assert.equal(embedder(openai()).modelKey, `openai:test-embed@${DIMS}`);
    assert.equal(embedder(openai()).dimensions, DIMS);
  });

  it('splits texts into batches and returns vectors in input order', async () => {
    const input = texts(23);
    const vectors = await embedder(openai(), { batchSize: 5, concurrency: 3 }).embed(input);
    assert.deepEqual(
      vectors,
      input.map((t) => fakeEmbedding(t, DIMS)),
    );
    assert.deepEqual(
      [...fake.stats.batchSizes].sort((a, b) => b - a),
      [5, 5, 5, 5, 3],
    );
    assert.equal(fake.stats.calls, 5);
  });

  it('keeps input order when later batches finish first', async () => {
    const base = openai();
    let call = 0;
    const slowFirst: EmbeddingProvider = {
      ...base,
      async doEmbed(batch, options) {
        const delay = [60, 30, 0, 0][call++] ?? 0;
        await new Promise((r) => setTimeout(r, delay));
        return base.doEmbed(batch, options);
      },
    };
    const input = texts(8);
    const vectors = await embedder(slowFirst, { batchSize: 2, concurrency: 4 }).embed(input);
    assert.deepEqual(
      vectors,
      input.map((t) => fakeEmbedding(t, DIMS)),
    );
  });

  it('never sends more than the provider accepts per call', async () => {
    await embedder(openai({ maxBatchSize: 3 }), { batchSize: 100 }).embed(texts(10));
    assert.ok(fake.stats.batchSizes.every((n) => n <= 3));
    assert.equal(fake.stats.inputs, 10);
  });

  it('keeps at most `concurrency` calls in flight, measured by the server', async () => {
    fake.setLatency(25);
    await embedder(openai(), { batchSize: 2, concurrency: 3 }).embed(texts(30));
    assert.equal(fake.stats.calls, 15);
    assert.equal(fake.stats.maxInFlight, 3);
  });

  it('shares the cap between concurrent embed calls', async () => {
    fake.setLatency(20);
    const e = embedder(openai(), { batchSize: 2, concurrency: 2 });
    await Promise.all([e.embed(texts(8, 'a')), e.embed(texts(8, 'b')), e.embed(texts(8, 'c'))]);
    assert.equal(fake.stats.calls, 12);
    assert.equal(fake.stats.maxInFlight, 2);
  });

  it('runs no more calls at once than the provider can use', async () => {
    fake.setLatency(10);
    const base = openai();
    const single = { ...base, maxConcurrency: 1, doEmbed: base.doEmbed };
    await embedder(single, { batchSize: 2, concurrency: 4 }).embed(texts(8));
    assert.equal(fake.stats.calls, 4);
    assert.equal(fake.stats.maxInFlight, 1);
  });

  it('serves a waiting query before queued document batches', async () => {
    fake.setLatency(15);
    const e = embedder(openai(), { batchSize: 1, concurrency: 1 });
    const documents = e.embed(texts(6, 'doc'), { purpose: 'document' });
    await new Promise((r) => setTimeout(r, 5));
    const [query] = await e.embed(['where is my parcel'], { purpose: 'query' });
    await documents;
    assert.deepEqual(query, fakeEmbedding('where is my parcel', DIMS));
    assert.ok(fake.stats.inputsSeen.indexOf('where is my parcel') <= 2, fake.stats.inputsSeen.join(' | '));
  });

  it('retries 500s with exponential backoff and jitter, then succeeds', async () => {
    fake.failNext({ status: 500, count: 3 });
    const warnings: Record<string, unknown>[] = [];
    const log = { warn: (fields: Record<string, unknown>) => warnings.push(fields) };
    const vectors = await embedder(openai(), { retryBaseDelayMs: 20, log }).embed(['hello world']);
    assert.deepEqual(vectors, [fakeEmbedding('hello world', DIMS)]);
    assert.equal(fake.stats.calls, 4);
    assert.deepEqual(
      warnings.map((w) => [w.attempt, w.status]),
      [
        [1, 500],
        [2, 500],
        [3, 500],
      ],
    );
    // Step n waits between half and all of 20 ms × 2^(n-1).
    warnings.forEach((w, n) => {
      const full = 20 * 2 ** n;
      assert.ok((w.delayMs as number) >= full / 2 && (w.delayMs as number) <= full, `delay ${w.delayMs} at step ${n}`);
    });
  });

  it('waits as long as Retry-After says on a 429', async () => {
    fake.failNext({ status: 429, count: 1, retryAfterSeconds: 1, code: 'rate_limit_exceeded' });
    const started = Date.now();
    await embedder(openai(), { retryBaseDelayMs: 5_000 }).embed(['hello']);
    const elapsed = Date.now() - started;
    assert.equal(fake.stats.calls, 2);
    assert.ok(elapsed >= 950 && elapsed < 3_000, `waited ${elapsed} ms`);
  });

  it('gives up after maxRetries with a retryable error', async () => {
    fake.failNext({ status: 503, count: 3 });
    await assert.rejects(embedder(openai(), { maxRetries: 2 }).embed(['hello']), (error: unknown) => {
      assert.ok(error instanceof EmbeddingError);
      assert.equal(error.status, 503);
      assert.equal(error.retryable, true);
      return true;
    });
    assert.equal(fake.stats.calls, 3);
  });

  it('gives a query, which a user waits on, one retry and waits of at most a second', async () => {
    fake.failNext({ status: 429, count: 2, retryAfterSeconds: 30, code: 'rate_limit_exceeded' });
    const started = Date.now();
    await assert.rejects(embedder(openai()).embed(['hello'], { purpose: 'query' }), { status: 429, retryable: true });
    const elapsed = Date.now() - started;
    assert.equal(fake.stats.calls, 2, 'the first call and one retry');
    assert.ok(elapsed >= 900 && elapsed < 3_000, `waited ${elapsed} ms, not Retry-After's 30 s`);
  });

  it('does not retry a 400', async () => {
    fake.failNext({ status: 400, count: 1 });
    await assert.rejects(embedder(openai()).embed(['hello']), {
      name: 'EmbeddingError',
      status: 400,
      retryable: false,
    });
    assert.equal(fake.stats.calls, 1);
  });

  it('does not retry a 429 that means the quota is spent', async () => {
    fake.failNext({ status: 429, count: 1, code: 'insufficient_quota' });
    await assert.rejects(embedder(openai()).embed(['hello']), { status: 429, retryable: false });
    assert.equal(fake.stats.calls, 1);
  });

  it('times out a slow call, retries it, and reports the timeout', async () => {
    fake.setLatency(400);
    const started = Date.now();
    await assert.rejects(embedder(openai(), { timeoutMs: 60, maxRetries: 1 }).embed(['slow']), (error: unknown) => {
      assert.ok(error instanceof EmbeddingError);
      assert.match(error.message, /timed out after 60 ms/);
      assert.equal(error.retryable, true);
      return true;
    });
    assert.ok(Date.now() - started < 400, 'gave up before the server answered');
    assert.equal(fake.stats.calls, 2);
  });

  it('stops at once when the caller aborts, without retrying', async () => {
    fake.setLatency(300);
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('job cancelled')), 30);
    const started = Date.now();
    await assert.rejects(embedder(openai()).embed(texts(4), { signal: controller.signal }), {
      message: 'job cancelled',
    });
    assert.ok(Date.now() - started < 250);
    assert.equal(fake.stats.calls, 1);
  });

  it('makes no call when the signal is already aborted', async () => {
    await assert.rejects(embedder(openai()).embed(['x'], { signal: AbortSignal.abort() }), { name: 'AbortError' });
    assert.equal(fake.stats.calls, 0);
  });

  it('returns nothing for no texts and rejects empty ones before calling', async () => {
    assert.deepEqual(await embedder(openai()).embed([]), []);
    await assert.rejects(embedder(openai()).embed(['fine', '  ']), /text 1 is empty/);
    assert.equal(fake.stats.calls, 0);
  });

  it('rejects vectors of another size than the provider declared', async () => {
    // text-embedding-3-small is 1536-d; this server answers 16-d because no size is sent.
    const provider = openai({ model: 'text-embedding-3-small', dimensions: undefined });
    assert.equal(provider.dimensions, 1536);
    await assert.rejects(embedder(provider).embed(['hello']), {
      retryable: false,
      message: /size 16; expected 1 of size 1536/,
    });
    assert.equal(fake.stats.calls, 1);
  });

  it('prepares the provider once, outside the per-call timeout', async () => {
    const base = openai();
    let prepared = 0;
    const slowToLoad: EmbeddingProvider = {
      ...base,
      doEmbed: base.doEmbed,
      async prepare() {
        prepared++;
        await new Promise((r) => setTimeout(r, 100));
      },
    };
    const e = embedder(slowToLoad, { timeoutMs: 50 });
    assert.equal((await e.embed(['one'])).length, 1);
    assert.equal(prepared, 1);
  });
});
