import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  expectedTinyEmbedding,
  type TinyEmbeddingModel,
  writeTinyEmbeddingModel,
} from '../../../test/fixtures/tiny-embedding-model/write-tiny-embedding-model.ts';
import { createEmbedder } from './embedder.ts';
import { createLocalProvider } from './local.ts';
import { EmbeddingError } from './spec.ts';

const MISSING_PACKAGE: string = '@huggingface/transformers-is-not-installed';
let root: string;
let modelDir: string;
let model: TinyEmbeddingModel;
/** A loopback port nothing listens on: any download attempt fails like an offline machine's. */
let offlineHost: string;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'snapagent-local-embedding-'));
  modelDir = join(root, 'tiny-e5');
  model = await writeTinyEmbeddingModel(modelDir, { dtypes: ['fp32'] });
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  offlineHost = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/`;
  await new Promise((r) => closed.close(r));
});
after(() => rm(root, { recursive: true, force: true }));

const assertClose = (actual: number[], expected: number[]) => {
  assert.equal(actual.length, expected.length);
  for (const [i, v] of actual.entries()) {
    assert.ok(Math.abs(v - expected[i]!) < 1e-5, `dimension ${i}: ${v} vs ${expected[i]}`);
  }
};

describe('createLocalProvider', () => {
  it('loads a model from a folder with downloads off and runs it', async () => {
    const provider = createLocalProvider({ modelId: 'test/tiny-e5', modelDir, remoteHost: offlineHost });
    assert.equal(provider.dimensions, 32, 'read from config.json hidden_size');
    const embedder = createEmbedder(provider, { batchSize: 2, concurrency: 1 });
    const [query, passage, korean] = await embedder.embed(
      ['How do I get a refund?', 'The cat sat on the mat.', '환불 정책'],
      {
        purpose: 'query',
      },
    );
    // e5 convention: "query: " before questions, "passage: " before documents.
    assertClose(query!, expectedTinyEmbedding(model, ['query', ':', 'how', 'do', 'i', 'get', 'a', 'refund', '[UNK]']));
    assertClose(passage!, expectedTinyEmbedding(model, ['query', ':', 'the', 'cat', 'sat', 'on', 'the', 'mat', '.']));
    assertClose(korean!, expectedTinyEmbedding(model, ['query', ':', '환불', '정책']));
    const [document] = await embedder.embed(['The cat sat on the mat.'], { purpose: 'document' });
    assertClose(
      document!,
      expectedTinyEmbedding(model, ['passage', ':', 'the', 'cat', 'sat', 'on', 'the', 'mat', '.']),
    );
    assert.ok(Math.abs(Math.hypot(...document!) - 1) < 1e-5, 'normalised');
  });

  it('finds a model inside a folder of models laid out as <org>/<name>', async () => {
    const models = join(root, 'models');
    await writeTinyEmbeddingModel(join(models, 'acme', 'tiny-embedder'), { dtypes: ['q8'] });
    const provider = createLocalProvider({ modelId: 'acme/tiny-embedder', modelDir: models, remoteHost: offlineHost });
    const [vector] = await createEmbedder(provider, { batchSize: 4, concurrency: 1 }).embed(['refund policy']);
    assertClose(vector!, expectedTinyEmbedding(model, ['refund', 'policy']));
  });

  it('says which files are missing from EMBEDDING_MODEL_DIR', async () => {
    const empty = join(root, 'empty');
    await mkdir(empty);
    const provider = createLocalProvider({ modelId: 'test/absent', modelDir: empty, dimensions: 8 });
    await assert.rejects(provider.prepare!(AbortSignal.timeout(5_000)), (error: unknown) => {
      assert.ok(error instanceof EmbeddingError);
      assert.equal(error.retryable, false);
      assert.match(error.message, /EMBEDDING_MODEL_DIR/);
      assert.match(error.message, /config\.json/);
      return true;
    });
  });

  it('turns an offline download failure into instructions', async () => {
    const provider = createLocalProvider({
      modelId: 'Xenova/multilingual-e5-small',
      cacheDir: join(root, 'offline-cache'),
      remoteHost: offlineHost,
    });
    assert.equal(provider.dimensions, 384);
    const embedder = createEmbedder(provider, { batchSize: 8, concurrency: 1, retryBaseDelayMs: 1 });
    await assert.rejects(embedder.embed(['hello']), (error: unknown) => {
      assert.ok(error instanceof EmbeddingError);
      assert.equal(error.retryable, false);
      assert.match(error.message, /could not download embedding model Xenova\/multilingual-e5-small/);
      assert.match(error.message, /fetch failed/);
      assert.match(error.message, /ECONNREFUSED/);
      assert.match(error.message, /set EMBEDDING_MODEL_DIR/);
      assert.match(error.message, /choose another EMBEDDING_PROVIDER/);
      return true;
    });
  });

  it('says how to install transformers.js when it is missing', async () => {
    const provider = createLocalProvider({
      modelDir,
      importLibrary: () => import(MISSING_PACKAGE),
    });
    await assert.rejects(provider.prepare!(AbortSignal.timeout(5_000)), {
      retryable: false,
      message:
        /optional package @huggingface\/transformers, which is not installed: install it with `ONNXRUNTIME_NODE_INSTALL=skip npm install/,
    });
  });

  it('downloads a model once into the cache and later loads it without the network', async () => {
    const hubFiles = join(root, 'hub', 'acme', 'tiny-e5-small');
    await writeTinyEmbeddingModel(hubFiles, { dtypes: ['q8'] });
    const hub = await startFakeHub(join(root, 'hub'));
    const cacheDir = join(root, 'cache');
    try {
      const online = createLocalProvider({
        modelId: 'acme/tiny-e5-small',
        cacheDir,
        remoteHost: hub.url,
        dimensions: 32,
      });
      const [first] = await createEmbedder(online, { batchSize: 4, concurrency: 1 }).embed(['refund'], {
        purpose: 'query',
      });
      assertClose(first!, expectedTinyEmbedding(model, ['query', ':', 'refund']));
      assert.ok(hub.paths.includes('/acme/tiny-e5-small/resolve/main/onnx/model_quantized.onnx'), hub.paths.join(' '));
      assert.ok(existsSync(join(cacheDir, 'acme', 'tiny-e5-small', 'onnx', 'model_quantized.onnx')));
    } finally {
      await new Promise((r) => hub.server.close(r));
    }
    const offline = createLocalProvider({
      modelId: 'acme/tiny-e5-small',
      cacheDir,
      remoteHost: offlineHost,
      dimensions: 32,
    });
    const [again] = await createEmbedder(offline, { batchSize: 4, concurrency: 1 }).embed(['refund'], {
      purpose: 'query',
    });
    assertClose(again!, expectedTinyEmbedding(model, ['query', ':', 'refund']));
  });
});

/** Serves files like huggingface.co: `GET /<org>/<name>/resolve/<revision>/<file>`, with ranges. */
async function startFakeHub(dir: string): Promise<{ url: string; paths: string[]; server: Server }> {
  const paths: string[] = [];
  const server = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://hub').pathname;
    paths.push(path);
    const match = /^\/([^/]+\/[^/]+)\/resolve\/[^/]+\/(.+)$/.exec(path);
    const body = match ? await readFile(join(dir, match[1]!, match[2]!)).catch(() => undefined) : undefined;
    if (!body) {
      res.writeHead(404, { 'x-error-code': 'EntryNotFound' }).end('Entry not found');
      return;
    }
    const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    if (range) {
      const [start, end] = [Number(range[1]), Math.min(Number(range[2]), body.length - 1)];
      res.writeHead(206, {
        'content-range': `bytes ${start}-${end}/${body.length}`,
        'content-length': end - start + 1,
      });
      res.end(body.subarray(start, end + 1));
      return;
    }
    res.writeHead(200, { 'content-length': body.length }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, paths, server };
}
