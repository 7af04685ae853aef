import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openTestDb, type TestDatabase, testDriver } from '../../../test/helpers/db.ts';
import { AppError } from '../../platform/errors.ts';
import { type CorpusDocument, createCorpusBot, type WrittenChunk, writeCorpus } from './eval/corpus.ts';
import { DEFAULT_BM25, searchLexical } from './lexical.ts';
import { searchChunks } from './search.ts';
import { termFrequencies, tokenize } from './tokenize.ts';

const DOCS: CorpusDocument[] = [
  {
    filename: 'postgres.pdf',
    fileType: 'pdf',
    content: 'PostgreSQL stores rows in heap pages and indexes them with btree indexes.',
    metadata: { page: 3, section_path: ['Storage', 'Heap'], lang: 'en' },
    embedding: [1, 0, 0, 0],
  },
  {
    filename: 'vacuum.pdf',
    fileType: 'pdf',
    content: 'Autovacuum removes dead rows from heap pages so that indexes stay small.',
    metadata: { page: 7, lang: 'en' },
    embedding: [0.9, 0.1, 0, 0],
  },
  {
    filename: 'zebra.docx',
    fileType: 'docx',
    content: 'The quagga was a subspecies of plains zebra that lived in South Africa.',
    metadata: { lang: 'en' },
    embedding: [0, 1, 0, 0],
  },
  {
    filename: 'korea.docx',
    fileType: 'docx',
    content: '임종석은 1989년 여의도 농민 폭력 시위를 주도한 혐의로 지명수배되었다.',
    metadata: { lang: 'ko', section_path: ['인물'] },
    embedding: [0, 0, 1, 0],
  },
  {
    filename: 'seoul.txt',
    content: '서울특별시는 대한민국의 수도이며 한강이 도시를 가로지른다.',
    metadata: { lang: 'ko' },
    embedding: [0, 0, 0.8, 0.6],
  },
  {
    filename: 'rows.txt',
    content: 'Rows, rows and more rows: a table of rows.',
    metadata: { lang: 'en' },
    embedding: [0.5, 0.5, 0.5, 0.5],
  },
];

describe(`retrieval search (${testDriver})`, () => {
  let t: TestDatabase;
  let botA: string;
  let botB: string;
  let chunksA: WrittenChunk[];
  let chunksB: WrittenChunk[];
  const byFile = (name: string) => chunksA.find((c) => c.filename === name)!;

  before(async () => {
    t = await openTestDb();
    botA = await createCorpusBot(t.db, 'a');
    botB = await createCorpusBot(t.db, 'b');
    chunksA = await writeCorpus(t.db, botA, DOCS);
    // Bot B holds the very same texts and vectors, plus one of its own: any leak would show.
    chunksB = await writeCorpus(t.db, botB, [
      ...DOCS,
      { filename: 'secret.txt', content: 'quagga zebra secret 임종석', embedding: [0, 1, 1, 0] },
    ]);
  });
  after(() => t.close());

  it('ranks the passage holding a rare query term first', async () => {
    const hits = await searchChunks(t.db, { botId: botA, query: 'quagga rows', topK: 3, mode: 'fulltext' });
    assert.equal(hits[0]?.filename, 'zebra.docx');
  });

  it('scores exactly like a reference BM25 over the same tokens', async () => {
    const query = 'heap rows indexes pages';
    const got = await searchLexical(t.db, botA, query, { limit: 10 });
    const expected = referenceBm25(DOCS, query).filter((r) => r.score > 0);
    assert.equal(got.length, expected.length);
    for (const [i, e] of expected.entries()) {
      assert.equal(got[i]?.chunkId, byFile(DOCS[e.doc]!.filename).chunkId, `rank ${i + 1}`);
      assert.ok(Math.abs((got[i]?.score ?? 0) - e.score) < 1e-9, `score at rank ${i + 1}`);
    }
  });

  it('finds a Korean passage from a question whose words carry other particles', async () => {
    const hits = await searchChunks(t.db, { botId: botA, query: '임종석이 주도한 시위는?', topK: 3, mode: 'fulltext' });
    assert.equal(hits[0]?.filename, 'korea.docx');
    const seoul = await searchChunks(t.db, {
      botId: botA,
      query: '대한민국의 수도는 어디인가요',
      topK: 1,
      mode: 'fulltext',
    });
    assert.equal(seoul[0]?.filename, 'seoul.txt');
  });

  it('returns hits with document, filename, page, section and metadata', async () => {
    const [hit] = await searchChunks(t.db, { botId: botA, query: 'btree', topK: 1, mode: 'fulltext' });
    assert.ok(hit);
    assert.equal(hit.chunkId, byFile('postgres.pdf').chunkId);
    assert.equal(hit.documentId, byFile('postgres.pdf').documentId);
    assert.equal(hit.filename, 'postgres.pdf');
    assert.match(hit.content, /btree/);
    assert.equal(hit.page, 3);
    assert.equal(hit.section, 'Storage > Heap');
    assert.equal(hit.metadata.lang, 'en');
    assert.ok(hit.score > 0);
    const [noPage] = await searchChunks(t.db, { botId: botA, query: 'quagga', topK: 1, mode: 'fulltext' });
    assert.equal(noPage?.page, undefined);
    assert.equal(noPage?.section, undefined);
  });

  it('vector mode orders by cosine similarity', async () => {
    const hits = await searchChunks(t.db, {
      botId: botA,
      query: 'ignored',
      queryVector: [1, 0.05, 0, 0],
      topK: 3,
      mode: 'vector',
    });
    assert.deepEqual(
      hits.map((h) => h.filename),
      ['postgres.pdf', 'vacuum.pdf', 'rows.txt'],
    );
    assert.ok(hits[0]!.score > 0.99 && hits[0]!.score <= 1);
  });

  it('hybrid finds what only one half finds, and ranks agreement first', async () => {
    // BM25 alone: "quagga" is only in zebra.docx. Vectors alone: [0,0,1,0] is korea.docx.
    const hits = await searchChunks(t.db, {
      botId: botA,
      query: 'quagga',
      queryVector: [0, 0, 1, 0],
      topK: 6,
      mode: 'hybrid',
    });
    const names = hits.map((h) => h.filename);
    assert.ok(names.includes('zebra.docx'));
    assert.ok(names.includes('korea.docx'));
    const agree = await searchChunks(t.db, {
      botId: botA,
      query: '임종석 시위',
      queryVector: [0, 0, 1, 0],
      topK: 3,
      mode: 'hybrid',
    });
    assert.equal(agree[0]?.filename, 'korea.docx');
    assert.ok(Math.abs(agree[0]!.score - 1) < 1e-9);
  });

  it('hybrid weights can hand the decision to one half', async () => {
    const request = { botId: botA, query: 'quagga', queryVector: [0, 0, 1, 0], topK: 1, mode: 'hybrid' as const };
    const text = await searchChunks(t.db, { ...request, weights: { vector: 0, fulltext: 1 } });
    const vec = await searchChunks(t.db, { ...request, weights: { vector: 1, fulltext: 0 } });
    assert.equal(text[0]?.filename, 'zebra.docx');
    assert.equal(vec[0]?.filename, 'korea.docx');
  });

  it('without a query vector, hybrid is full-text and vector mode is refused clearly', async () => {
    const hybrid = await searchChunks(t.db, { botId: botA, query: 'quagga', topK: 2, mode: 'hybrid' });
    const fulltext = await searchChunks(t.db, { botId: botA, query: 'quagga', topK: 2, mode: 'fulltext' });
    assert.deepEqual(hybrid, fulltext);
    await assert.rejects(
      searchChunks(t.db, { botId: botA, query: 'quagga', topK: 2, mode: 'vector' }),
      (err: unknown) => err instanceof AppError && err.code === 'validation_failed' && /embedding/.test(err.message),
    );
  });

  it('drops hits under the score threshold', async () => {
    const all = await searchChunks(t.db, {
      botId: botA,
      query: 'x',
      queryVector: [1, 0, 0, 0],
      topK: 6,
      mode: 'vector',
    });
    const kept = await searchChunks(t.db, {
      botId: botA,
      query: 'x',
      queryVector: [1, 0, 0, 0],
      topK: 6,
      mode: 'vector',
      scoreThreshold: 0.9,
    });
    assert.ok(all.length > kept.length);
    assert.ok(kept.length >= 2);
    assert.ok(kept.every((h) => h.score >= 0.9));
  });

  it('filters by document, file type and metadata in every mode', async () => {
    for (const mode of ['fulltext', 'vector', 'hybrid'] as const) {
      const base = { botId: botA, query: 'rows heap 임종석', queryVector: [0.5, 0.5, 0.5, 0.5], topK: 10, mode };
      const byDoc = await searchChunks(t.db, { ...base, filters: { documentIds: [byFile('vacuum.pdf').documentId] } });
      assert.deepEqual(
        byDoc.map((h) => h.filename),
        ['vacuum.pdf'],
        mode,
      );
      const byType = await searchChunks(t.db, { ...base, filters: { fileTypes: ['PDF'] } });
      assert.deepEqual(new Set(byType.map((h) => h.filename)), new Set(['postgres.pdf', 'vacuum.pdf']), mode);
      const byMeta = await searchChunks(t.db, { ...base, filters: { metadata: { lang: 'ko' } } });
      assert.ok(byMeta.length > 0 && byMeta.every((h) => h.metadata.lang === 'ko'), mode);
      const both = await searchChunks(t.db, { ...base, filters: { fileTypes: ['docx'], metadata: { lang: 'ko' } } });
      assert.deepEqual(
        both.map((h) => h.filename),
        ['korea.docx'],
        mode,
      );
    }
  });

  it('never returns another bot’s chunks, in any mode or filter', async () => {
    const ownA = new Set(chunksA.map((c) => c.chunkId));
    const query = { query: 'quagga zebra secret 임종석 rows', queryVector: [0, 1, 1, 0], topK: 20 };
    for (const mode of ['fulltext', 'vector', 'hybrid'] as const) {
      const hits = await searchChunks(t.db, { botId: botA, ...query, mode });
      assert.ok(hits.length > 0, mode);
      assert.ok(
        hits.every((h) => ownA.has(h.chunkId)),
        mode,
      );
      assert.ok(!hits.some((h) => h.filename === 'secret.txt'), mode);
      // Asking bot A for bot B's documents finds nothing.
      const foreign = await searchChunks(t.db, {
        botId: botA,
        ...query,
        mode,
        filters: { documentIds: chunksB.map((c) => c.documentId) },
      });
      assert.deepEqual(foreign, [], mode);
    }
    const other = await searchChunks(t.db, { botId: botB, ...query, mode: 'fulltext' });
    assert.equal(other[0]?.filename, 'secret.txt');
  });

  it('rejects malformed ids and sizes before any SQL runs', async () => {
    const ok = { botId: botA, query: 'rows', topK: 5, mode: 'fulltext' as const };
    await assert.rejects(searchChunks(t.db, { ...ok, botId: "x' OR 1=1 --" }), AppError);
    await assert.rejects(searchChunks(t.db, { ...ok, topK: 0 }), AppError);
    await assert.rejects(searchChunks(t.db, { ...ok, filters: { documentIds: ['nope'] } }), AppError);
    await assert.rejects(
      searchChunks(t.db, { ...ok, mode: 'vector', queryVector: [Number.NaN, 1] }),
      (err: unknown) => err instanceof AppError && err.code === 'validation_failed',
    );
    assert.deepEqual(await searchChunks(t.db, { ...ok, query: '?!' }), []);
  });

  it('keeps the per-bot counters exact through inserts, updates and deletes', async () => {
    const stats = async (botId: string) =>
      (
        await t.db.query<{ chunks: number; embedded: number; terms: number }>(
          'SELECT chunks::int, embedded::int, terms::int FROM chunk_stats WHERE bot_id = $1',
          [botId],
        )
      )[0];
    const lengths = DOCS.map((d) => termFrequencies(d.content).length);
    const total = lengths.reduce((a, b) => a + b, 0);
    assert.deepEqual(await stats(botA), { chunks: DOCS.length, embedded: DOCS.length, terms: total });

    const botC = await createCorpusBot(t.db, 'c');
    const written = await writeCorpus(t.db, botC, DOCS.slice(0, 3));
    await t.db.query('UPDATE chunks SET embedding = NULL WHERE id = $1', [written[0]!.chunkId]);
    await t.db.query('DELETE FROM documents WHERE id = $1', [written[1]!.documentId]);
    assert.deepEqual(await stats(botC), { chunks: 2, embedded: 1, terms: lengths[0]! + lengths[2]! });
    await t.db.query('DELETE FROM bots WHERE id = $1', [botC]);
    assert.equal(await stats(botC), undefined);
    const leftovers = await t.db.query('SELECT 1 FROM chunk_terms WHERE bot_id = $1', [botC]);
    assert.equal(leftovers.length, 0);
  });
});

/** BM25 computed in memory with the same analyser and the Lucene idf, for cross-checking the SQL. */
function referenceBm25(docs: CorpusDocument[], query: string) {
  const { k1, b } = DEFAULT_BM25;
  const counted = docs.map((d) => termFrequencies(d.content));
  const n = docs.length;
  const avg = counted.reduce((a, c) => a + c.length, 0) / n;
  const terms = [...new Set(tokenize(query))];
  return counted
    .map((c, doc) => {
      let score = 0;
      for (const term of terms) {
        const tf = c.terms.get(term) ?? 0;
        if (tf === 0) continue;
        const df = counted.filter((x) => x.terms.has(term)).length;
        const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
        score += (idf * tf * (k1 + 1)) / (tf + k1 * (1 - b + (b * c.length) / avg));
      }
      return { doc, score };
    })
    .sort((x, y) => y.score - x.score || x.doc - y.doc);
}
