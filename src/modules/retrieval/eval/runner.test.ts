import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openTestDb, type TestDatabase, testDriver } from '../../../../test/helpers/db.ts';
import { createLsaEmbedder } from './lsa.ts';
import { defaultDatasets, formatEvalTable, runEval } from './runner.ts';

describe(`retrieval eval harness (${testDriver})`, () => {
  let t: TestDatabase;
  before(async () => {
    t = await openTestDb();
  });
  after(() => t.close());

  const mini = defaultDatasets().filter((d) => d.name === 'snapagent-mini');

  it('scores the committed Korean + English set, and skips a set that is absent', async () => {
    const result = await runEval({
      db: t.db,
      datasets: [...mini, { name: 'absent', dir: '/nonexistent/absent' }],
    });
    assert.deepEqual(
      result.skipped.map((s) => s.dataset),
      ['absent'],
    );
    const [row] = result.rows;
    assert.equal(result.rows.length, 1);
    assert.equal(row?.mode, 'fulltext');
    assert.equal(row?.documents, 40);
    assert.equal(row?.queries, 40);
    assert.ok(row!.ndcg10 > 0.9, `nDCG@10 ${row!.ndcg10}`);
    assert.match(formatEvalTable(result), /snapagent-mini\s+fulltext\s+40\s+40\s+0\.9/);
  });

  it('evaluates vector and hybrid modes with an embedder passed in', async () => {
    const result = await runEval({
      db: t.db,
      datasets: mini,
      maxQueries: 12,
      embedderFor: (corpus) => createLsaEmbedder(corpus, 16),
    });
    assert.deepEqual(
      result.rows.map((r) => r.mode),
      ['fulltext', 'vector', 'hybrid'],
    );
    for (const r of result.rows) {
      assert.ok(r.ndcg10 > 0.3 && r.ndcg10 <= 1, `${r.mode} ${r.ndcg10}`);
      assert.ok(r.recall100 >= r.recall10);
    }
  });
});
