import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ndcgAt, recallAt } from './metrics.ts';

describe('ranking metrics', () => {
  it('computes nDCG@10 as trec_eval ndcg_cut.10 does (hand-computed example)', () => {
    // Relevant: a (gain 2), b (gain 1), c (gain 1, never retrieved).
    const qrels = new Map([
      ['a', 2],
      ['b', 1],
      ['c', 1],
    ]);
    const ranking = ['x', 'a', 'y', 'b'];
    // DCG = 2/log2(3) + 1/log2(5) = 1.26186 + 0.43068; IDCG = 2/1 + 1/log2(3) + 1/log2(4) = 3.13093
    const expected = (2 / Math.log2(3) + 1 / Math.log2(5)) / (2 + 1 / Math.log2(3) + 1 / 2);
    assert.ok(Math.abs(ndcgAt(ranking, qrels, 10) - expected) < 1e-12);
    assert.ok(Math.abs(ndcgAt(ranking, qrels, 10) - 0.540593) < 1e-5);
  });

  it('is 1 for the ideal ranking, 0 without relevant hits, and cuts at k', () => {
    const qrels = new Map([['a', 1]]);
    assert.equal(ndcgAt(['a', 'b'], qrels, 10), 1);
    assert.equal(ndcgAt(['b', 'c'], qrels, 10), 0);
    assert.equal(ndcgAt(['b', 'a'], qrels, 1), 0);
    assert.equal(ndcgAt(['a'], new Map([['a', 0]]), 10), 0);
  });

  it('counts a repeated document once', () => {
    const qrels = new Map([
      ['a', 1],
      ['b', 1],
    ]);
    assert.equal(ndcgAt(['a', 'a', 'b'], qrels, 10), 1);
  });

  it('computes recall at k', () => {
    const qrels = new Map([
      ['a', 1],
      ['b', 1],
      ['z', 0],
    ]);
    assert.equal(recallAt(['a', 'x', 'b'], qrels, 2), 0.5);
    assert.equal(recallAt(['a', 'x', 'b'], qrels, 3), 1);
  });
});
