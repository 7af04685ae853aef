import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import {
  type FakeOpenAIEmbeddings,
  fakeEmbedding,
  startFakeOpenAIEmbeddings,
} from '../../../test/fakes/openai-embeddings.ts';
import { createOpenAIProvider, parseRetryAfter } from './openai.ts';
import { EmbeddingError } from './spec.ts';

let fake: FakeOpenAIEmbeddings;
const signal = new AbortController().signal;

before(async () => {
  fake = await startFakeOpenAIEmbeddings({ dimensions: 24, models: ['text-embedding-3-small', 'nomic-embed-text'] });
});
after(() => fake.close());
beforeEach(() => fake.resetStats());

describe('createOpenAIProvider', () => {
  it('sends many inputs in one base64 request and decodes the vectors back by index', async () => {
    const seen: { url: string; headers: Headers; body: Record<string, unknown> }[] = [];
    const recordingFetch: typeof fetch = async (input, init) => {
      seen.push({
        url: String(input),
        headers: new Headers(init?.headers),
        body: JSON.parse(String(init?.body)) as Record<string, unknown>,
      });
      return fetch(input, init);
    };
    const provider = createOpenAIProvider({
      baseURL: `${fake.url}/`,
      apiKey: fake.apiKey,
      model: 'nomic-embed-text',
      dimensions: 24,
      fetch: recordingFetch,
    });
    const vectors = await provider.doEmbed(['first text', 'second text', '환불 정책'], { purpose: 'document', signal });
    assert.deepEqual(vectors, [
      fakeEmbedding('first text', 24),
      fakeEmbedding('second text', 24),
      fakeEmbedding('환불 정책', 24),
    ]);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.url, `${fake.url}/embeddings`);
    assert.equal(seen[0]!.headers.get('authorization'), `Bearer ${fake.apiKey}`);
    assert.deepEqual(seen[0]!.body, {
      model: 'nomic-embed-text',
      input: ['first text', 'second text', '환불 정책'],
      encoding_format: 'base64',
      dimensions: 24,
    });
  });

  it('sends `dimensions` only when configured, and knows OpenAI models without it', async () => {
    const provider = createOpenAIProvider({ baseURL: fake.url, apiKey: fake.apiKey, model: 'text-embedding-3-small' });
    assert.equal(provider.dimensions, 1536);
    await provider.doEmbed(['a'], { purpose: 'query', signal });
    const shortened = createOpenAIProvider({
      baseURL: fake.url,
      apiKey: fake.apiKey,
      model: 'text-embedding-3-small',
      dimensions: 256,
    });
    assert.equal(shortened.dimensions, 256);
    const [vector] = await shortened.doEmbed(['a'], { purpose: 'query', signal });
    assert.equal(vector!.length, 256);
    assert.deepEqual(fake.stats.dimensionsSent, [undefined, 256]);
  });

  it('requires the size of a model it does not know', () => {
    assert.throws(() => createOpenAIProvider({ model: 'nomic-embed-text' }), /set EMBEDDING_DIMENSIONS/);
    assert.equal(createOpenAIProvider({ model: 'nomic-embed-text', dimensions: 768 }).dimensions, 768);
  });

  it('defaults to a batch of 256 and accepts another', () => {
    assert.equal(createOpenAIProvider().maxBatchSize, 256);
    assert.equal(createOpenAIProvider({ maxBatchSize: 32 }).maxBatchSize, 32);
  });

  it('reports a wrong key as a 401 that retrying cannot fix', async () => {
    const provider = createOpenAIProvider({
      baseURL: fake.url,
      apiKey: 'wrong',
      model: 'nomic-embed-text',
      dimensions: 24,
    });
    await assert.rejects(provider.doEmbed(['a'], { purpose: 'document', signal }), (error: unknown) => {
      assert.ok(error instanceof EmbeddingError);
      assert.equal(error.status, 401);
      assert.equal(error.retryable, false);
      assert.match(error.message, /failed with 401: Incorrect API key provided/);
      assert.doesNotMatch(error.message, /wrong/);
      return true;
    });
  });

  it('passes the server’s error message and marks 5xx and 429 retryable with Retry-After', async () => {
    const provider = createOpenAIProvider({
      baseURL: fake.url,
      apiKey: fake.apiKey,
      model: 'nomic-embed-text',
      dimensions: 24,
    });
    fake.failNext({ status: 429, count: 1, retryAfterSeconds: 7 });
    await assert.rejects(provider.doEmbed(['a'], { purpose: 'document', signal }), {
      status: 429,
      retryable: true,
      retryAfterMs: 7000,
    });
    fake.failNext({ status: 502, count: 1 });
    await assert.rejects(provider.doEmbed(['a'], { purpose: 'document', signal }), { status: 502, retryable: true });
    await assert.rejects(
      createOpenAIProvider({ baseURL: fake.url, apiKey: fake.apiKey, model: 'unknown-model', dimensions: 24 }).doEmbed(
        ['a'],
        { purpose: 'document', signal },
      ),
      { status: 404, retryable: false, message: /does not exist/ },
    );
  });

  it('marks a refused connection retryable', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const { port } = closed.address() as AddressInfo;
    await new Promise((r) => closed.close(r));
    const provider = createOpenAIProvider({ baseURL: `http://127.0.0.1:${port}/v1`, model: 'm', dimensions: 4 });
    await assert.rejects(provider.doEmbed(['a'], { purpose: 'document', signal }), {
      retryable: true,
      message: /fetch failed \(ECONNREFUSED\)/,
    });
  });

  it('rejects an answer with the wrong number of items', async () => {
    const shortFetch: typeof fetch = async () =>
      Response.json({ object: 'list', data: [{ object: 'embedding', index: 0, embedding: [1, 0] }], model: 'm' });
    const provider = createOpenAIProvider({ model: 'm', dimensions: 2, fetch: shortFetch });
    await assert.rejects(provider.doEmbed(['a', 'b'], { purpose: 'document', signal }), {
      retryable: false,
      message: /has 1 items for 2 inputs/,
    });
  });

  it('rejects a base64 vector that is not whole float32 values', async () => {
    const truncated: typeof fetch = async () =>
      Response.json({ data: [{ index: 0, embedding: Buffer.from([0, 0, 128]).toString('base64') }] });
    const provider = createOpenAIProvider({ model: 'm', dimensions: 1, fetch: truncated });
    await assert.rejects(provider.doEmbed(['a'], { purpose: 'document', signal }), {
      retryable: false,
      message: /malformed item at 0/,
    });
  });

  it('keeps a query string in the base URL (Azure api-version)', async () => {
    let url = '';
    const capture: typeof fetch = async (input) => {
      url = String(input);
      return Response.json({ data: [{ index: 0, embedding: [0, 1] }] });
    };
    const provider = createOpenAIProvider({
      baseURL: 'https://example.openai.azure.com/openai/deployments/emb?api-version=2024-10-21',
      model: 'emb',
      dimensions: 2,
      headers: { 'api-key': 'k' },
      fetch: capture,
    });
    await provider.doEmbed(['a'], { purpose: 'document', signal });
    assert.equal(url, 'https://example.openai.azure.com/openai/deployments/emb/embeddings?api-version=2024-10-21');
  });
});

describe('parseRetryAfter', () => {
  it('reads milliseconds, seconds and HTTP dates', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    assert.equal(parseRetryAfter(new Headers({ 'retry-after-ms': '250' }), now), 250);
    assert.equal(parseRetryAfter(new Headers({ 'retry-after': '3' }), now), 3000);
    assert.equal(parseRetryAfter(new Headers({ 'retry-after': 'Wed, 01 Jan 2025 00:00:05 GMT' }), now), 5000);
    assert.equal(parseRetryAfter(new Headers({ 'retry-after': 'soon' }), now), undefined);
    assert.equal(parseRetryAfter(new Headers(), now), undefined);
  });
});
