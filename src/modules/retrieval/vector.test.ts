import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openTestDb, type TestDatabase, testDriver } from '../../../test/helpers/db.ts';
import { createCorpusBot, type WrittenChunk, writeCorpus } from './eval/corpus.ts';
import { searchChunks } from './search.ts';
import {
  calibrateIndex,
  ensureVectorIndex,
  explainVectorSearch,
  planVectorSearch,
  searchVector,
  vectorIndexName,
} from './vector.ts';

const DIMS = 8;
const LARGE = 400;
const SMALL = 60;
// Too small for an index to beat an exact scan; the plan is what is under test here.
const index = { hnswThreshold: 300, requireSpeedup: false };

/** Deterministic pseudo-random unit-ish vectors (mulberry32). */
function randomVectors(count: number, dims: number, seed: number): number[][] {
  let a = seed;
  const next = () => {
    a = (a + 0x6d2b79f5) | 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296 - 0.5;
  };
  return Array.from({ length: count }, () => Array.from({ length: dims }, next));
}

function cosine(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(na * nb);
}

describe(`vector search plan (${testDriver})`, () => {
  let t: TestDatabase;
  let large: string;
  let small: string;
  let largeVectors: number[][];
  let largeChunks: WrittenChunk[];
  const queries = randomVectors(5, DIMS, 99);

  before(async () => {
    t = await openTestDb();
    large = await createCorpusBot(t.db, 'large');
    small = await createCorpusBot(t.db, 'small');
    largeVectors = randomVectors(LARGE, DIMS, 1);
    largeChunks = await writeCorpus(
      t.db,
      large,
      largeVectors.map((embedding, i) => ({
        filename: `l${i}.txt`,
        content: `large chunk ${i}`,
        embedding,
        metadata: { parity: i % 2 === 0 ? 'even' : 'odd' },
      })),
    );
    await writeCorpus(
      t.db,
      small,
      randomVectors(SMALL, DIMS, 2).map((embedding, i) => ({
        filename: `s${i}.txt`,
        content: `small ${i}`,
        embedding,
      })),
    );
    for (const table of ['chunks', 'chunk_stats']) await t.db.query(`ANALYZE ${table}`);
  });
  after(() => t.close());

  it('builds a partial index only for a bot over the threshold, once', async () => {
    assert.equal(await ensureVectorIndex(t.db, small, DIMS, index), 'below-threshold');
    assert.equal(await ensureVectorIndex(t.db, large, DIMS, index), 'created');
    assert.equal(await ensureVectorIndex(t.db, large, DIMS, index), 'exists');
    const rows = await t.db.query<{ indexname: string; indexdef: string }>(
      "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'chunks' AND indexdef ILIKE '%hnsw%'",
    );
    assert.deepEqual(
      rows.map((r) => r.indexname),
      [vectorIndexName(large, DIMS)],
    );
    assert.match(rows[0]!.indexdef, new RegExp(`WHERE .*bot_id = '${large}'`));
  });

  it('plans exact scans for small bots and the partial HNSW index for large ones (EXPLAIN)', async () => {
    await ensureVectorIndex(t.db, large, DIMS, index);
    const q = queries[0]!;
    const smallPlan = await explainVectorSearch(t.db, small, q, { index });
    assert.equal(smallPlan.plan.kind, 'exact');
    assert.doesNotMatch(smallPlan.explain.join('\n'), /hnsw/i);

    const largePlan = await explainVectorSearch(t.db, large, q, { index });
    assert.equal(largePlan.plan.kind, 'hnsw');
    assert.match(largePlan.explain.join('\n'), new RegExp(`Index Scan using ${vectorIndexName(large, DIMS)}`));

    // Without the threshold option the same bot is "small": exact, never the HNSW index.
    const defaultPlan = await explainVectorSearch(t.db, large, q);
    assert.equal(defaultPlan.plan.kind, 'exact');
    assert.doesNotMatch(defaultPlan.explain.join('\n'), /chunks_hnsw/);
  });

  it('returns the full exact top-10 through the HNSW index', async () => {
    await ensureVectorIndex(t.db, large, DIMS, index);
    assert.equal((await planVectorSearch(t.db, large, DIMS, index)).kind, 'hnsw');
    let found = 0;
    for (const q of queries) {
      const exact = largeVectors
        .map((v, i) => ({ id: largeChunks[i]!.chunkId, sim: cosine(q, v) }))
        .sort((x, y) => y.sim - x.sim)
        .slice(0, 10);
      const got = await searchVector(t.db, large, q, { limit: 10, index });
      assert.equal(got.length, 10);
      const ids = new Set(got.map((c) => c.chunkId));
      found += exact.filter((e) => ids.has(e.id)).length;
      assert.ok(Math.abs(got[0]!.score - exact[0]!.sim) < 1e-5);
    }
    const recall = found / (10 * queries.length);
    assert.ok(recall >= 0.95, `recall@10 ${recall}`);
  });

  it('calibrates each index on its own data, and falls back to exact when the target is out of reach', async () => {
    await ensureVectorIndex(t.db, large, DIMS, index);
    const [row] = await t.db.query<{ note: string }>(`SELECT obj_description(to_regclass($1), 'pg_class') AS note`, [
      vectorIndexName(large, DIMS),
    ]);
    const calibration = JSON.parse(row!.note) as { efSearch: number | null; recall: number; embedded: number };
    assert.equal(calibration.embedded, LARGE);
    assert.ok(calibration.efSearch !== null && calibration.recall >= 0.95, row!.note);
    try {
      // No ef_search can beat a recall of 1: the bot must be served exactly.
      const impossible = await calibrateIndex(t.db, large, DIMS, { ...index, recallTarget: 1.01 });
      assert.equal(impossible?.efSearch, null);
      assert.equal((await planVectorSearch(t.db, large, DIMS, index)).kind, 'exact');
      assert.equal((await searchVector(t.db, large, queries[0]!, { limit: 10, index })).length, 10);
    } finally {
      await calibrateIndex(t.db, large, DIMS, index);
    }
    assert.equal((await planVectorSearch(t.db, large, DIMS, index)).kind, 'hnsw');
  });

  it('filters on an HNSW bot still return a full, correct top-k', async () => {
    await ensureVectorIndex(t.db, large, DIMS, index);
    const q = queries[1]!;
    const even = largeVectors
      .map((v, i) => ({ id: largeChunks[i]!.chunkId, sim: cosine(q, v), even: i % 2 === 0 }))
      .filter((e) => e.even)
      .sort((x, y) => y.sim - x.sim)
      .slice(0, 10)
      .map((e) => e.id);
    const got = await searchVector(t.db, large, q, { limit: 10, index, filters: { metadata: { parity: 'even' } } });
    assert.deepEqual(
      got.map((c) => c.chunkId),
      even,
    );
    // A filter matching 2 chunks of 400: the graph scan cannot find them all, the exact fallback does.
    const two = [largeChunks[5]!, largeChunks[300]!];
    const narrow = await searchVector(t.db, large, q, {
      limit: 10,
      index,
      filters: { documentIds: two.map((c) => c.documentId) },
    });
    assert.deepEqual(new Set(narrow.map((c) => c.chunkId)), new Set(two.map((c) => c.chunkId)));
  });

  it('keeps bots of different dimensions apart, and a dimension mismatch finds nothing', async () => {
    const other = await createCorpusBot(t.db, 'three-d');
    await writeCorpus(t.db, other, [
      { filename: 'a', content: 'a', embedding: [1, 0, 0] },
      { filename: 'b', content: 'b', embedding: [0, 1, 0] },
    ]);
    const hits = await searchChunks(
      t.db,
      { botId: other, query: '', queryVector: [0, 1, 0.1], topK: 5, mode: 'vector' },
      { vectorIndex: index },
    );
    assert.deepEqual(
      hits.map((h) => h.filename),
      ['b', 'a'],
    );
    const mismatch = await searchChunks(t.db, {
      botId: other,
      query: '',
      queryVector: [1, 0, 0, 0],
      topK: 5,
      mode: 'vector',
    });
    assert.deepEqual(mismatch, []);
    // The large bot's HNSW path never sees the 3-d bot's rows.
    const largeHits = await searchChunks(
      t.db,
      { botId: large, query: '', queryVector: queries[2]!, topK: 50, mode: 'vector' },
      { vectorIndex: index },
    );
    const own = new Set(largeChunks.map((c) => c.chunkId));
    assert.equal(largeHits.length, 50);
    assert.ok(largeHits.every((h) => own.has(h.chunkId)));
    // Hybrid on an HNSW bot: the index scan runs in its own transaction beside the BM25 query.
    const hybrid = await searchChunks(
      t.db,
      { botId: large, query: 'chunk 123', queryVector: largeVectors[123]!, topK: 5, mode: 'hybrid' },
      { vectorIndex: index },
    );
    assert.equal(hybrid[0]?.filename, 'l123.txt');
    assert.ok(hybrid.every((h) => own.has(h.chunkId)));
  });
});
