import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildTestApp, type Session, signUp, type TestApp } from '../helpers/app.ts';
import { testDriver } from '../helpers/db.ts';
import { eventually, multipart } from '../helpers/multipart.ts';

const MARKDOWN = `# Returns policy

Items can be returned within 30 days of delivery. The refund reaches your card in 5 business days.

## Exceptions

Opened software and gift cards cannot be returned.

# 배송 안내

주문하신 상품은 평일 기준 2일 안에 배송됩니다. 제주도는 하루가 더 걸립니다.
`;

describe(`document ingestion over HTTP (${testDriver})`, () => {
  let h: TestApp;
  let owner: Session;
  let botId: string;
  before(async () => {
    h = await buildTestApp({ MAX_UPLOAD_BYTES: String(64 * 1024) }, { worker: true });
    owner = await signUp(h.app, 'docs');
    botId = (
      await h.app.inject({ method: 'POST', url: '/api/v1/bots', headers: owner.auth, payload: { name: 'Docs' } })
    ).json().id;
  });
  after(() => h.close());

  const upload = async (files: Parameters<typeof multipart>[0], query = `?bot_id=${botId}`, fields = {}) => {
    const body = await multipart(files, fields);
    return h.app.inject({
      method: 'POST',
      url: `/api/v1/documents/upload${query}`,
      headers: { ...owner.auth, ...body.headers },
      payload: body.payload,
    });
  };
  const getDoc = (id: string) => h.app.inject({ method: 'GET', url: `/api/v1/documents/${id}`, headers: owner.auth });
  const ready = (id: string) =>
    eventually(
      async () => {
        const doc = (await getDoc(id)).json();
        return doc.status === 'ready' || doc.status === 'failed' ? doc : undefined;
      },
      240_000,
      `document ${id} finished`,
    );

  it('accepts several files with 202, ingests them, keeps sections and Korean intact', async () => {
    const res = await upload([
      { filename: 'policy.md', content: MARKDOWN, type: 'text/markdown' },
      {
        filename: 'notes.txt',
        content: 'Support hours are 9 to 5 on weekdays.\n\nCall us any time for urgent issues.',
      },
    ]);
    assert.equal(res.statusCode, 202, res.body);
    const entries = res.json().documents;
    assert.equal(entries.length, 2);
    assert.deepEqual(
      entries.map((e: { status: string }) => e.status),
      ['queued', 'queued'],
    );
    assert.deepEqual(
      entries.map((e: { filename: string }) => e.filename),
      ['policy.md', 'notes.txt'],
    );

    const doc = await ready(entries[0].document_id);
    assert.equal(doc.status, 'ready', doc.error);
    assert.equal(doc.file_type, 'markdown');
    assert.ok(doc.chunks_total >= 1);
    assert.equal(doc.chunks_done, doc.chunks_total);

    const chunks = (
      await h.app.inject({ method: 'GET', url: `/api/v1/documents/${doc.id}/chunks`, headers: owner.auth })
    ).json().chunks;
    assert.equal(chunks.length, doc.chunks_total);
    const all = chunks.map((c: { content: string }) => c.content).join('\n');
    assert.match(all, /주문하신 상품은 평일 기준 2일 안에 배송됩니다/);
    assert.ok(chunks.some((c: { section?: string }) => c.section?.includes('배송 안내')));
    assert.ok(
      chunks.every((c: { embedding_model: string | null }) => c.embedding_model === null),
      'no embedding provider: full-text only',
    );
    const postings = await h.t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM chunk_terms WHERE bot_id = $1', [
      botId,
    ]);
    assert.ok((postings[0]?.n ?? 0) > 10, 'full-text index filled in the same write');

    const listed = (
      await h.app.inject({ method: 'GET', url: `/api/v1/documents?bot_id=${botId}&status=ready`, headers: owner.auth })
    ).json();
    assert.ok(listed.total >= 1);
  });

  it('detects the same content uploaded twice and stores it once', async () => {
    const first = (await upload([{ filename: 'a.txt', content: 'Unique content about llamas and alpacas.' }])).json()
      .documents[0];
    const second = (
      await upload([{ filename: 'copy-of-a.txt', content: 'Unique content about llamas and alpacas.' }], '', {
        bot_id: botId,
      })
    ).json().documents[0];
    assert.equal(second.document_id, first.document_id);
    assert.equal(second.duplicate, true);
    const rows = await h.t.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM documents WHERE bot_id = $1 AND filename LIKE '%a.txt'",
      [botId],
    );
    assert.equal(rows[0]?.n, 1);
  });

  it('refuses a file that is not what it claims with 415 and stores nothing', async () => {
    const png = new Uint8Array([
      0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 1, 0, 0, 0, 1, 8, 2,
      0, 0, 0,
    ]);
    const before = await h.t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM documents');
    const res = await upload([
      { filename: 'fine.txt', content: 'A perfectly good text file.' },
      { filename: 'report.pdf', content: png, type: 'application/pdf' },
    ]);
    assert.equal(res.statusCode, 415, res.body);
    assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
    assert.equal(res.json().code, 'unsupported_media_type');
    assert.match(res.json().detail, /report\.pdf/);
    const afterRows = await h.t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM documents');
    assert.equal(afterRows[0]?.n, before[0]?.n);
  });

  it('refuses a file over the size limit with 413', async () => {
    const res = await upload([{ filename: 'big.txt', content: 'x'.repeat(70 * 1024) }]);
    assert.equal(res.statusCode, 413, res.body);
    assert.equal(res.json().code, 'payload_too_large');
  });

  it('requires bot_id and files', async () => {
    assert.equal((await upload([{ filename: 'a.txt', content: 'hello there' }], '')).statusCode, 400);
    const none = await upload([], `?bot_id=${botId}`, { note: 'no files' });
    assert.equal(none.statusCode, 400);
    assert.equal(none.json().errors[0].field, 'files');
  });

  it('an empty document ends failed with a readable error, and the worker keeps going', async () => {
    const res = await upload([{ filename: 'empty.txt', content: ' \n\n \t \n' }]);
    if (res.statusCode === 202) {
      const doc = await ready(res.json().documents[0].document_id);
      assert.equal(doc.status, 'failed');
      assert.ok(doc.error && doc.error.length > 10);
    } else {
      assert.equal(res.statusCode, 415);
    }
    const next = (await upload([{ filename: 'after.txt', content: 'The worker still works after a failure.' }])).json()
      .documents[0];
    assert.equal((await ready(next.document_id)).status, 'ready');
  });

  it('re-indexes and deletes a document with its chunks', async () => {
    const entry = (
      await upload([{ filename: 'r.txt', content: 'Re-index me: penguins live in the southern hemisphere.' }])
    ).json().documents[0];
    const doc = await ready(entry.document_id);
    const reindex = await h.app.inject({
      method: 'POST',
      url: `/api/v1/documents/${doc.id}/reindex`,
      headers: owner.auth,
    });
    assert.equal(reindex.statusCode, 202);
    const again = await ready(doc.id);
    assert.equal(again.status, 'ready');
    const chunks = await h.t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM chunks WHERE document_id = $1', [
      doc.id,
    ]);
    assert.equal(chunks[0]?.n, again.chunks_total, 'exactly one copy of each chunk after re-indexing');

    assert.equal(
      (await h.app.inject({ method: 'DELETE', url: `/api/v1/documents/${doc.id}`, headers: owner.auth })).statusCode,
      204,
    );
    assert.equal((await getDoc(doc.id)).statusCode, 404);
    const left = await h.t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM chunks WHERE document_id = $1', [
      doc.id,
    ]);
    assert.equal(left[0]?.n, 0);
  });

  it("re-indexes every document of a bot when its embedding model changes, in the settings' transaction", async () => {
    const bot = (
      await h.app.inject({ method: 'POST', url: '/api/v1/bots', headers: owner.auth, payload: { name: 'Model swap' } })
    ).json().id as string;
    const uploaded = (
      await upload(
        [
          { filename: 'a.txt', content: 'Alpacas hum when they are content.' },
          { filename: 'b.txt', content: 'Badgers dig setts with many entrances.' },
        ],
        `?bot_id=${bot}`,
      )
    ).json().documents as { document_id: string }[];
    const ids = uploaded.map((d) => d.document_id);
    for (const id of ids) assert.equal((await ready(id)).status, 'ready');
    const attempts = async () =>
      (
        await h.t.db.query<{ attempt: number }>(
          'SELECT attempt FROM documents WHERE id = ANY($1::uuid[]) ORDER BY id',
          [ids],
        )
      ).map((r) => r.attempt);
    const before = await attempts();

    const patched = await h.app.inject({
      method: 'PATCH',
      url: `/api/v1/bots/${bot}`,
      headers: owner.auth,
      payload: { settings: { embedding: { provider: 'none' } } },
    });
    assert.equal(patched.statusCode, 200, patched.body);
    await eventually(
      async () => {
        const now = await attempts();
        return now.every((a, i) => a > (before[i] as number)) ? now : undefined;
      },
      240_000,
      'both documents ingested again',
    );
    for (const id of ids) assert.equal((await ready(id)).status, 'ready');
  });

  it('copies upload metadata onto every chunk, and refuses metadata that is not a JSON object', async () => {
    const res = await upload(
      [{ filename: 'tagged.txt', content: 'Invoices are sent on the first day of each month.' }],
      `?bot_id=${botId}`,
      {
        metadata: JSON.stringify({ category: 'billing', start: 'ignored' }),
      },
    );
    assert.equal(res.statusCode, 202, res.body);
    const doc = await ready(res.json().documents[0].document_id);
    assert.equal(doc.status, 'ready');
    assert.deepEqual(doc.metadata, { category: 'billing', start: 'ignored' }, 'the document shows what was given');
    const chunks = (
      await h.app.inject({ method: 'GET', url: `/api/v1/documents/${doc.id}/chunks`, headers: owner.auth })
    ).json().chunks;
    assert.ok(chunks.length > 0);
    for (const c of chunks) {
      assert.equal(c.metadata.category, 'billing');
      assert.equal(typeof c.metadata.start, 'number', 'our own offsets win over uploaded keys');
    }
    for (const bad of ['[1,2]', 'not json', JSON.stringify({ x: 'y'.repeat(9000) })]) {
      const refused = await upload([{ filename: 'x.txt', content: `never stored ${bad.length}` }], `?bot_id=${botId}`, {
        metadata: bad,
      });
      assert.equal(refused.statusCode, 400, bad);
      assert.equal(refused.json().errors[0].field, 'metadata');
    }
  });

  it('streams ingestion progress as Server-Sent Events', async () => {
    const port = await h.app.listen({ port: 0, host: '127.0.0.1' });
    const controller = new AbortController();
    const res = await fetch(`${port}/api/v1/documents/events?bot_id=${botId}`, {
      headers: owner.auth,
      signal: controller.signal,
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    const entry = (
      await upload([{ filename: 'sse.txt', content: 'Streaming progress for this little document.' }])
    ).json().documents[0];
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    const deadline = Date.now() + 120_000;
    // The stream may open with events of documents that finished just before: wait for this one.
    const readyEvent = new RegExp(`"document_id":"${entry.document_id}"[^\n]*"status":"ready"`);
    while (!readyEvent.test(text) && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    controller.abort();
    assert.match(text, /event: document/);
    assert.match(text, readyEvent);
  });
});
