import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  type FakeOpenAIEmbeddings,
  fakeEmbedding,
  startFakeOpenAIEmbeddings,
} from '../../../test/fakes/openai-embeddings.ts';
import { writeTinyEmbeddingModel } from '../../../test/fixtures/tiny-embedding-model/write-tiny-embedding-model.ts';
import { type Environment, loadConfig } from '../../config.ts';
import { createConfiguredEmbedder, createEmbeddingProvider, describeEmbedding } from './index.ts';

let fake: FakeOpenAIEmbeddings;
let root: string;
let modelDir: string;
const MISSING_PACKAGE: string = '@huggingface/transformers-is-not-installed';

before(async () => {
  fake = await startFakeOpenAIEmbeddings({ dimensions: 48 });
  root = await mkdtemp(join(tmpdir(), 'snapagent-embedding-index-'));
  modelDir = join(root, 'model');
  await writeTinyEmbeddingModel(modelDir);
});
after(async () => {
  await fake.close();
  await rm(root, { recursive: true, force: true });
});

const config = (env: Environment) => loadConfig({ DATA_DIR: root, ...env });

describe('createEmbeddingProvider', () => {
  it('gives no provider for none, so search runs full-text only', () => {
    assert.equal(createEmbeddingProvider('none', config({})), undefined);
    assert.equal(config({}).embedding.provider, 'none');
  });

  it('defaults each provider to its usual model', () => {
    const c = config({ OPENAI_API_KEY: 'k' });
    assert.equal(createEmbeddingProvider('bedrock', c)?.modelId, 'amazon.titan-embed-text-v2:0');
    assert.equal(createEmbeddingProvider('bedrock', c)?.dimensions, 1024);
    assert.equal(createEmbeddingProvider('openai', c)?.modelId, 'text-embedding-3-small');
    assert.equal(createEmbeddingProvider('local', c)?.modelId, 'Xenova/multilingual-e5-small');
    assert.equal(createEmbeddingProvider('local', c)?.dimensions, 384);
  });

  it('builds an OpenAI-compatible embedder from OPENAI_BASE_URL, OPENAI_API_KEY and the embedding settings', async () => {
    const c = config({
      OPENAI_BASE_URL: fake.url,
      OPENAI_API_KEY: fake.apiKey,
      EMBEDDING_MODEL: 'bge-m3',
      EMBEDDING_DIMENSIONS: '48',
      EMBEDDING_BATCH_SIZE: '3',
      EMBEDDING_CONCURRENCY: '2',
    });
    assert.equal(c.embedding.provider, 'openai', 'an OpenAI key turns embeddings on');
    const embedder = createConfiguredEmbedder(c);
    assert.ok(embedder);
    assert.equal(embedder.modelKey, 'openai:bge-m3@48');
    const texts = ['one', 'two', 'three', 'four', 'five'];
    assert.deepEqual(
      await embedder.embed(texts),
      texts.map((t) => fakeEmbedding(t, 48)),
    );
    assert.deepEqual(fake.stats.batchSizes, [3, 2]);
  });

  it('throws at start-up when the vector size cannot be known', () => {
    assert.throws(
      () => createEmbeddingProvider('openai', config({ OPENAI_API_KEY: 'k', EMBEDDING_MODEL: 'mystery-model' })),
      /set EMBEDDING_DIMENSIONS/,
    );
    assert.throws(() => createEmbeddingProvider('bedrock', config({ EMBEDDING_DIMENSIONS: '300' })), /256, 512, 1024/);
  });

  it('runs the local provider from EMBEDDING_MODEL_DIR', async () => {
    const c = config({ EMBEDDING_PROVIDER: 'local', EMBEDDING_MODEL_DIR: modelDir, EMBEDDING_MODEL: 'tiny-e5' });
    const embedder = createConfiguredEmbedder(c);
    assert.equal(embedder?.modelKey, 'local:tiny-e5@32');
    const [vector] = (await embedder?.embed(['refund policy'], { purpose: 'query' })) ?? [];
    assert.equal(vector?.length, 32);
  });
});

describe('describeEmbedding', () => {
  it('reports embeddings off for none', async () => {
    assert.deepEqual(await describeEmbedding(config({})), {
      provider: 'none',
      enabled: false,
      usable: true,
      modelKey: undefined,
      detail: 'embeddings off: full-text search only',
    });
  });

  it('flags OpenAI without a key, but not a keyless local server', async () => {
    const noKey = await describeEmbedding(config({ EMBEDDING_PROVIDER: 'openai' }));
    assert.equal(noKey.usable, false);
    assert.match(noKey.detail, /OPENAI_API_KEY/);
    const ollama = await describeEmbedding(
      config({
        EMBEDDING_PROVIDER: 'openai',
        OPENAI_BASE_URL: 'http://127.0.0.1:11434/v1',
        EMBEDDING_MODEL: 'nomic-embed-text',
        EMBEDDING_DIMENSIONS: '768',
      }),
    );
    assert.equal(ollama.usable, true);
    assert.equal(ollama.modelKey, 'openai:nomic-embed-text@768');
  });

  it('reports a configuration the provider rejects', async () => {
    const status = await describeEmbedding(config({ EMBEDDING_PROVIDER: 'openai', EMBEDDING_MODEL: 'mystery-model' }));
    assert.equal(status.usable, false);
    assert.match(status.detail, /EMBEDDING_DIMENSIONS/);
  });

  it('names the Bedrock region and endpoint', async () => {
    const status = await describeEmbedding(
      config({
        EMBEDDING_PROVIDER: 'bedrock',
        AWS_REGION: 'ap-northeast-2',
        AWS_ENDPOINT_URL: 'http://127.0.0.1:4566',
      }),
    );
    assert.equal(status.usable, true);
    assert.equal(status.modelKey, 'bedrock:amazon.titan-embed-text-v2:0@1024');
    assert.match(status.detail, /ap-northeast-2 via http:\/\/127\.0\.0\.1:4566/);
  });

  it('checks the local package and model folder', async () => {
    const ready = await describeEmbedding(config({ EMBEDDING_PROVIDER: 'local', EMBEDDING_MODEL_DIR: modelDir }));
    assert.equal(ready.usable, true);
    const missingFolder = await describeEmbedding(
      config({ EMBEDDING_PROVIDER: 'local', EMBEDDING_MODEL_DIR: join(root, 'nothing-here') }),
    );
    assert.equal(missingFolder.usable, false);
    assert.match(missingFolder.detail, /config\.json is missing/);
    const download = await describeEmbedding(config({ EMBEDDING_PROVIDER: 'local' }));
    assert.equal(download.usable, true);
    assert.match(download.detail, /will be downloaded on first use/);
    const noPackage = await describeEmbedding({
      ...config({ EMBEDDING_PROVIDER: 'local', EMBEDDING_MODEL_DIR: modelDir }),
      importTransformers: () => import(MISSING_PACKAGE),
    });
    assert.equal(noPackage.usable, false);
    assert.match(noPackage.detail, /not installed/);
  });
});
