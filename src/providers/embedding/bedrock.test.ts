import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { type FakeBedrockRuntime, startFakeBedrockRuntime } from '../../../test/fakes/bedrock-runtime.ts';
import { fakeEmbedding } from '../../../test/fakes/openai-embeddings.ts';
import { loadConfig } from '../../config.ts';
import { createBedrockProvider, TITAN_V2 } from './bedrock.ts';
import { createEmbedder } from './embedder.ts';
import { createEmbeddingProvider } from './index.ts';
import { EmbeddingError } from './spec.ts';

let fake: FakeBedrockRuntime;
const signal = new AbortController().signal;

before(async () => {
  fake = await startFakeBedrockRuntime({ region: 'eu-central-1' });
});
after(() => fake.close());
beforeEach(() => {
  fake.resetStats();
  fake.setLatency(0);
});

const titan = (overrides: Partial<Parameters<typeof createBedrockProvider>[0]> = {}) =>
  createBedrockProvider({ region: fake.region, endpoint: fake.url, credentials: fake.credentials, ...overrides });

describe('createBedrockProvider', () => {
  it('embeds with Titan v2 through a SigV4-signed InvokeModel the server verifies', async () => {
    const provider = titan();
    assert.equal(provider.modelId, TITAN_V2);
    assert.equal(provider.dimensions, 1024);
    assert.equal(provider.maxBatchSize, 1);
    const [vector] = await provider.doEmbed(['환불 정책은 어떻게 되나요?'], { purpose: 'query', signal });
    assert.deepEqual(vector, fakeEmbedding('환불 정책은 어떻게 되나요?', 1024));
    assert.equal(fake.stats.authFailures, 0);
    assert.deepEqual(fake.stats.models, [TITAN_V2]);
    assert.deepEqual(fake.stats.bodies, [
      { inputText: '환불 정책은 어떻게 되나요?', dimensions: 1024, normalize: true },
    ]);
  });

  it('asks for the configured size', async () => {
    const [vector] = await titan({ dimensions: 512 }).doEmbed(['hello'], { purpose: 'document', signal });
    assert.equal(vector!.length, 512);
    assert.equal(fake.stats.bodies[0]!.dimensions, 512);
    assert.throws(() => titan({ dimensions: 384 }), /choose 256, 512, 1024/);
    assert.throws(() => titan({ modelId: 'cohere.embed-english-v3' }), /not supported/);
  });

  it('is rejected with 403 when signed with a wrong secret, and does not retry', async () => {
    const wrong = titan({
      credentials: { accessKeyId: fake.credentials.accessKeyId, secretAccessKey: 'not-the-secret' },
    });
    await assert.rejects(createEmbedder(wrong, { batchSize: 1, concurrency: 1 }).embed(['hello']), (error: unknown) => {
      assert.ok(error instanceof EmbeddingError);
      assert.equal(error.status, 403);
      assert.equal(error.retryable, false);
      assert.match(error.message, /InvalidSignatureException/);
      return true;
    });
    assert.equal(fake.stats.calls, 1);
    assert.equal(fake.stats.authFailures, 1);
  });

  it('is rejected when the access key is unknown', async () => {
    const stranger = titan({
      credentials: { accessKeyId: 'AKIDSOMEONEELSE', secretAccessKey: fake.credentials.secretAccessKey },
    });
    await assert.rejects(stranger.doEmbed(['hello'], { purpose: 'document', signal }), {
      status: 403,
      retryable: false,
      message: /UnrecognizedClientException/,
    });
  });

  it('is rejected when signed for another region', async () => {
    await assert.rejects(titan({ region: 'us-west-2' }).doEmbed(['hello'], { purpose: 'document', signal }), {
      status: 403,
      message: /scoped to a valid region/,
    });
  });

  it('retries throttling and 5xx, then succeeds', async () => {
    fake.failNext({ status: 429, count: 1 });
    fake.failNext({ status: 503, count: 1 });
    fake.failNext({ status: 500, count: 1 });
    const warnings: unknown[] = [];
    const embedder = createEmbedder(titan(), {
      batchSize: 8,
      concurrency: 1,
      retryBaseDelayMs: 5,
      log: { warn: (fields) => warnings.push(fields.err) },
    });
    assert.deepEqual(await embedder.embed(['hello']), [fakeEmbedding('hello', 1024)]);
    assert.equal(fake.stats.calls, 4);
    assert.match(String(warnings[0]), /ThrottlingException \(429\)/);
    assert.match(String(warnings[1]), /ServiceUnavailableException \(503\)/);
  });

  it('does not retry a validation error', async () => {
    fake.failNext({ status: 400, count: 1 });
    await assert.rejects(createEmbedder(titan(), { batchSize: 1, concurrency: 2 }).embed(['hello']), {
      status: 400,
      retryable: false,
    });
    assert.equal(fake.stats.calls, 1);
  });

  it('marks a refused connection retryable', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const endpoint = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise((r) => closed.close(r));
    await assert.rejects(titan({ endpoint }).doEmbed(['hello'], { purpose: 'document', signal }), {
      name: 'EmbeddingError',
      retryable: true,
      message: /ECONNREFUSED/,
    });
  });

  it('gets its throughput from concurrency: one text per call, calls in parallel', async () => {
    fake.setLatency(20);
    const texts = Array.from({ length: 12 }, (_, i) => `chunk ${i}`);
    const vectors = await createEmbedder(titan({ dimensions: 256 }), { batchSize: 64, concurrency: 4 }).embed(texts);
    assert.deepEqual(
      vectors,
      texts.map((t) => fakeEmbedding(t, 256)),
    );
    assert.equal(fake.stats.calls, 12);
    assert.equal(fake.stats.maxInFlight, 4);
  });

  it('aborts an in-flight call', async () => {
    fake.setLatency(300);
    const started = Date.now();
    await assert.rejects(titan().doEmbed(['slow'], { purpose: 'document', signal: AbortSignal.timeout(30) }), {
      name: 'TimeoutError',
    });
    assert.ok(Date.now() - started < 250);
  });
});

describe('Bedrock endpoint override through configuration', () => {
  it('uses AWS_ENDPOINT_URL_BEDROCK_RUNTIME and AWS_REGION', async () => {
    const config = loadConfig({
      EMBEDDING_PROVIDER: 'bedrock',
      AWS_REGION: fake.region,
      AWS_ENDPOINT_URL_BEDROCK_RUNTIME: fake.url,
      EMBEDDING_DIMENSIONS: '256',
    });
    const provider = createEmbeddingProvider(config.embedding.provider, {
      ...config,
      awsCredentials: fake.credentials,
    });
    assert.ok(provider);
    const embedder = createEmbedder(provider, { batchSize: config.embedding.batchSize, concurrency: 2 });
    assert.equal(embedder.modelKey, `bedrock:${TITAN_V2}@256`);
    assert.deepEqual(await embedder.embed(['via config']), [fakeEmbedding('via config', 256)]);
    assert.equal(fake.stats.succeeded, 1);
  });

  it('falls back to AWS_ENDPOINT_URL', async () => {
    const config = loadConfig({ EMBEDDING_PROVIDER: 'bedrock', AWS_REGION: fake.region, AWS_ENDPOINT_URL: fake.url });
    const provider = createEmbeddingProvider('bedrock', { ...config, awsCredentials: fake.credentials });
    const callsBefore = fake.stats.succeeded;
    await provider!.doEmbed(['general endpoint'], { purpose: 'document', signal });
    assert.equal(fake.stats.succeeded, callsBefore + 1);
  });
});
