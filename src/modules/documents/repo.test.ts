import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { insertTeamAndBot, openTestDb, type TestDatabase, testDriver } from '../../../test/helpers/db.ts';
import { termFrequencies } from '../retrieval/tokenize.ts';
import * as repo from './repo.ts';

describe(`documents repo: batched upload and fenced chunk writes (${testDriver})`, () => {
  let t: TestDatabase;
  let botId: string;
  before(async () => {
    t = await openTestDb();
    ({ botId } = await insertTeamAndBot(t.db, { chunking: { chunk_size: 64 } }));
  });
  after(() => t.close());

  const doc = (name: string, hash: string) => ({
    filename: name,
    fileType: 'text',
    mimeType: 'text/plain',
    sizeBytes: 3,
    contentHash: hash,
  });

  it('inserts an upload in order, marking repeats within it and of earlier uploads as duplicates', async () => {
    const [earlier] = await t.db.transaction((tx) => repo.insertDocuments(tx, botId, [doc('old.txt', 'h-old')]));
    const rows = await t.db.transaction(async (tx) => {
      const stored = await repo.insertDocuments(tx, botId, [
        doc('a.txt', 'h-a'),
        doc('again.txt', 'h-old'),
        doc('b.txt', 'h-b'),
        doc('a-copy.txt', 'h-a'),
      ]);
      await repo.insertFiles(
        tx,
        stored.filter((s) => s.created).map((s, i) => ({ documentId: s.row.id, content: new Uint8Array([i, 0, 255]) })),
      );
      return stored;
    });
    assert.deepEqual(
      rows.map((r) => [r.row.filename, r.created]),
      [
        ['a.txt', true],
        ['old.txt', false],
        ['b.txt', true],
        ['a.txt', false],
      ],
    );
    assert.equal(rows[1]?.row.id, earlier?.row.id);
    assert.equal(rows[3]?.row.id, rows[0]?.row.id);
    assert.deepEqual([...((await repo.loadFile(t.db, rows[2]?.row.id as string)) ?? [])], [1, 0, 255]);
  });

  it('starts an attempt with the document, its bot settings and its bytes in one round trip', async () => {
    const [stored] = await t.db.transaction(async (tx) => {
      const s = await repo.insertDocuments(tx, botId, [doc('start.txt', 'h-start')]);
      await repo.insertFiles(tx, [{ documentId: s[0]?.row.id as string, content: new TextEncoder().encode('hey') }]);
      return s;
    });
    const id = stored?.row.id as string;
    const first = await repo.beginIngestion(t.db, id);
    assert.equal(first?.attempt, 1);
    assert.equal(first?.document.status, 'processing');
    assert.deepEqual(first?.settings, { chunking: { chunk_size: 64 } });
    assert.equal(new TextDecoder().decode(first?.content), 'hey');
    assert.equal((await repo.beginIngestion(t.db, id))?.attempt, 2);
    assert.equal(await repo.beginIngestion(t.db, '00000000-0000-4000-8000-000000000000'), undefined);
  });

  it('writes chunks, exact vectors and postings once per attempt; a stale attempt writes nothing', async () => {
    const [stored] = await t.db.transaction((tx) => repo.insertDocuments(tx, botId, [doc('v.txt', 'h-v')]));
    const id = stored?.row.id as string;
    const texts = ['Penguins live in the south.', 'Polar bears live in the north.', 'No vector here.'];
    const chunks = (vectorOffset: number): repo.ChunkToStore[] =>
      texts.map((content, index) => ({
        index,
        content,
        tokenCount: 6,
        metadata: { start: index },
        embedding: index === 2 ? undefined : [0.1 + vectorOffset, -2.5e-3, 1 / 3, 12345.678],
        terms: termFrequencies(content),
      }));
    const a1 = (await repo.beginIngestion(t.db, id))?.attempt as number;
    const a2 = (await repo.beginIngestion(t.db, id))?.attempt as number;
    assert.equal(await repo.replaceChunks(t.db, { id, botId, attempt: a1 }, chunks(0), 'fake:m@4'), undefined);
    assert.equal((await t.db.query('SELECT 1 FROM chunks WHERE document_id = $1', [id])).length, 0);

    const first = await repo.replaceChunks(t.db, { id, botId, attempt: a2 }, chunks(0), 'fake:m@4');
    assert.equal(first?.botEmbedded, 2);
    const again = await repo.replaceChunks(t.db, { id, botId, attempt: a2 }, chunks(1), 'fake:m@4');
    assert.equal(again?.botEmbedded, 2, 'replaced, not added');
    const rows = await t.db.query<{ chunk_index: number; embedding: string | null; embedding_model: string | null }>(
      'SELECT chunk_index, embedding::text AS embedding, embedding_model FROM chunks WHERE document_id = $1 ORDER BY chunk_index',
      [id],
    );
    assert.equal(rows.length, 3, 'exactly one copy of each chunk');
    const vector = JSON.parse(rows[0]?.embedding as string) as number[];
    const expected = [1.1, -2.5e-3, 1 / 3, 12345.678].map(Math.fround);
    for (const [i, v] of vector.entries()) {
      assert.ok(Math.abs(v - (expected[i] as number)) <= Math.abs(expected[i] as number) * 1e-6, `${v}`);
    }
    assert.equal(rows[2]?.embedding, null);
    assert.equal(rows[0]?.embedding_model, 'fake:m@4');
    const postings = await t.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM chunk_terms t JOIN chunks c ON c.id = t.chunk_id WHERE c.document_id = $1',
      [id],
    );
    assert.equal(
      postings[0]?.n,
      texts.reduce((n, text) => n + termFrequencies(text).terms.size, 0),
    );
    const [docRow] = await t.db.query<{ status: string; chunks_total: number }>(
      'SELECT status, chunks_total FROM documents WHERE id = $1',
      [id],
    );
    assert.deepEqual(docRow, { status: 'ready', chunks_total: 3 });
  });

  it('splits a document with more postings than one statement holds', async () => {
    const [stored] = await t.db.transaction((tx) => repo.insertDocuments(tx, botId, [doc('big.txt', 'h-big')]));
    const id = stored?.row.id as string;
    const attempt = (await repo.beginIngestion(t.db, id))?.attempt as number;
    const chunks: repo.ChunkToStore[] = Array.from({ length: 21 }, (_, index) => ({
      index,
      content: `chunk ${index}`,
      tokenCount: 2,
      metadata: {},
      embedding: undefined,
      terms: { terms: new Map(Array.from({ length: 1_000 }, (_, k) => [`t${index}x${k}`, 1])), length: 1_000 },
    }));
    assert.ok(await repo.replaceChunks(t.db, { id, botId, attempt }, chunks, undefined));
    const postings = await t.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM chunk_terms t JOIN chunks c ON c.id = t.chunk_id WHERE c.document_id = $1',
      [id],
    );
    assert.equal(postings[0]?.n, 21_000);
  });
});
