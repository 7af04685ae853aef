import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type FakeOpenAIEmbeddings, startFakeOpenAIEmbeddings } from '../fakes/openai-embeddings.ts';
import { buildTestApp, signUp, type TestApp } from '../helpers/app.ts';
import { testDriver } from '../helpers/db.ts';
import { eventually, multipart } from '../helpers/multipart.ts';
import { freePort, runCli } from '../helpers/process.ts';

/**
 * Kills a real worker process with SIGKILL in the middle of a document, starts another, and
 * checks the document ends `ready` with exactly one copy of each chunk.
 */
const paragraphs = Array.from(
  { length: 60 },
  (_, i) =>
    `Section ${i}. The harbour authority publishes tide tables every morning. Vessel ${i} must report its draught before entering the channel, and pilots board at the outer buoy when the swell is below two metres.`,
).join('\n\n');

describe('a worker killed mid-document', {
  skip: testDriver !== 'postgres' ? 'needs a database shared by two processes' : false,
}, () => {
  let h: TestApp;
  let fake: FakeOpenAIEmbeddings;
  let env: Record<string, string>;
  before(async () => {
    fake = await startFakeOpenAIEmbeddings({ latencyMs: 400 });
    const embedding = {
      EMBEDDING_PROVIDER: 'openai',
      OPENAI_API_KEY: fake.apiKey,
      OPENAI_BASE_URL: fake.url,
      EMBEDDING_DIMENSIONS: '64',
      EMBEDDING_BATCH_SIZE: '2',
      EMBEDDING_CONCURRENCY: '1',
    };
    h = await buildTestApp(embedding, { queue: true });
    env = { ...embedding, DATABASE_URL: h.t.url as string, JOB_LEASE_SECONDS: '10', LOG_LEVEL: 'info', WORKERS: '1' };
  });
  after(async () => {
    await h.close();
    await fake.close();
  });

  it('is finished by the next worker with no duplicate chunks', { timeout: 120_000 }, async () => {
    const owner = await signUp(h.app, 'crash');
    const botId = (
      await h.app.inject({
        method: 'POST',
        url: '/api/v1/bots',
        headers: owner.auth,
        payload: { name: 'Harbour', settings: { chunking: { chunk_size: 64, chunk_overlap: 8 } } },
      })
    ).json().id;
    const body = await multipart([{ filename: 'harbour.txt', content: paragraphs }]);
    const upload = await h.app.inject({
      method: 'POST',
      url: `/api/v1/documents/upload?bot_id=${botId}`,
      headers: { ...owner.auth, ...body.headers },
      payload: body.payload,
    });
    assert.equal(upload.statusCode, 202, upload.body);
    const documentId = upload.json().documents[0].document_id as string;
    const doc = async () =>
      (
        await h.t.db.query<{
          status: string;
          stage: string | null;
          chunks_done: number;
          chunks_total: number;
          attempt: number;
        }>('SELECT status, stage, chunks_done, chunks_total, attempt FROM documents WHERE id = $1', [documentId])
      )[0];

    const first = runCli(['worker'], env);
    try {
      await eventually(
        async () => {
          const d = await doc();
          return d?.stage === 'embedding' && fake.stats.succeeded >= 4 ? d : undefined;
        },
        60_000,
        'first worker mid-embedding',
      ).catch((err) => {
        throw new Error(`${err.message}\n${first.output().slice(-3000)}`);
      });
      first.child.kill('SIGKILL');
      await first.exited;
    } finally {
      first.child.kill('SIGKILL');
    }
    const killed = await doc();
    assert.equal(killed?.status, 'processing', 'the killed attempt left the document unfinished');
    const partial = await h.t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM chunks WHERE document_id = $1', [
      documentId,
    ]);
    assert.equal(partial[0]?.n, 0, 'nothing half-written');

    fake.setLatency(0);
    const metricsPort = await freePort();
    const second = runCli(['worker'], {
      ...env,
      WORKER_METRICS_PORT: String(metricsPort),
      METRICS_TOKEN: 'worker-scrape-token',
    });
    try {
      const done = await eventually(
        async () => {
          const d = await doc();
          return d?.status === 'ready' || d?.status === 'failed' ? d : undefined;
        },
        90_000,
        'second worker finishing the document',
      );
      assert.equal(done.status, 'ready');
      assert.ok(done.attempt >= 2, `a new attempt did the work (attempt ${done.attempt})`);
      const rows = await h.t.db.query<{ n: number; distinct_idx: number; min: number; max: number }>(
        'SELECT count(*)::int AS n, count(DISTINCT chunk_index)::int AS distinct_idx, min(chunk_index) AS min, max(chunk_index) AS max FROM chunks WHERE document_id = $1',
        [documentId],
      );
      const r = rows[0];
      assert.equal(r?.n, done.chunks_total);
      assert.equal(r?.distinct_idx, done.chunks_total);
      assert.equal(r?.min, 0);
      assert.equal(r?.max, done.chunks_total - 1);
      assert.ok(done.chunks_total > 10);
      const vectors = await h.t.db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM chunks WHERE document_id = $1 AND embedding IS NULL',
        [documentId],
      );
      assert.equal(vectors[0]?.n, 0, 'every chunk embedded');

      // The worker has no HTTP API; its own listener serves its metrics, behind the token.
      const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
      assert.equal((await fetch(metricsUrl)).status, 401);
      const scrape = await fetch(metricsUrl, { headers: { authorization: 'Bearer worker-scrape-token' } });
      assert.equal(scrape.status, 200);
      assert.match(await scrape.text(), /^snapagent_documents_ingested_total\{outcome="ready"\} 1$/m);
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  });
});
