import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fuseRankings } from './hybrid.ts';

const list = (...ids: string[]) => ids.map((chunkId, i) => ({ chunkId, score: 10 - i }));

describe('fuseRankings', () => {
  it('rrf: a chunk both lists rank high beats one only a single list has', () => {
    const fused = fuseRankings(list('1', '2', '3'), list('4', '2', '5'), { method: 'rrf' });
    assert.equal(fused[0]?.chunkId, '2');
    assert.deepEqual(new Set(fused.map((c) => c.chunkId)), new Set(['1', '2', '3', '4', '5']));
  });

  it('rrf: first in both lists scores exactly 1, and scores fall with rank', () => {
    const fused = fuseRankings(list('7', '8'), list('7', '9'), { method: 'rrf' });
    assert.equal(fused[0]?.chunkId, '7');
    assert.ok(Math.abs((fused[0]?.score ?? 0) - 1) < 1e-12);
    for (let i = 1; i < fused.length; i++) assert.ok(fused[i - 1]!.score >= fused[i]!.score);
  });

  it('weights decide which list wins a disagreement', () => {
    const vector = list('v', 'a');
    const fulltext = list('f', 'b');
    for (const method of ['rrf', 'linear'] as const) {
      const fuse = (v: number, f: number) =>
        fuseRankings(vector, fulltext, { method, weights: { vector: v, fulltext: f } })[0]?.chunkId;
      assert.equal(fuse(0.8, 0.2), 'v', method);
      assert.equal(fuse(0.2, 0.8), 'f', method);
      assert.equal(fuse(0, 1), 'f', method);
    }
  });

  it('linear: min-max normalises each list so unbounded BM25 cannot swamp cosine', () => {
    const vector = [
      { chunkId: 'a', score: 0.91 },
      { chunkId: 'b', score: 0.9 },
    ];
    const fulltext = [
      { chunkId: 'b', score: 42 },
      { chunkId: 'a', score: 40 },
      { chunkId: 'c', score: 2 },
    ];
    const fused = fuseRankings(vector, fulltext, { method: 'linear' });
    // a: 0.5·1 + 0.5·(38/40) = 0.975; b: 0.5·0 + 0.5·1 = 0.5; c: 0.
    assert.deepEqual(
      fused.map((c) => c.chunkId),
      ['a', 'b', 'c'],
    );
    assert.ok(Math.abs(fused[0]!.score - 0.975) < 1e-12);
    assert.equal(fused[2]!.score, 0);
  });

  it('defaults to linear fusion', () => {
    const vector = [
      { chunkId: 'a', score: 0.9 },
      { chunkId: 'b', score: 0.1 },
    ];
    const fulltext = [
      { chunkId: 'b', score: 10 },
      { chunkId: 'a', score: 9.9 },
    ];
    // RRF sees a tie (each first once); linear sees that a is near the top of both lists.
    assert.deepEqual(fuseRankings(vector, fulltext), fuseRankings(vector, fulltext, { method: 'linear' }));
    assert.equal(fuseRankings(vector, fulltext)[0]?.chunkId, 'a');
  });

  it('handles an empty list and rejects meaningless weights', () => {
    assert.deepEqual(
      fuseRankings([], list('1', '2')).map((c) => c.chunkId),
      ['1', '2'],
    );
    assert.throws(() => fuseRankings([], [], { weights: { vector: 0, fulltext: 0 } }), RangeError);
    assert.throws(() => fuseRankings([], [], { weights: { vector: -1, fulltext: 2 } }), RangeError);
  });
});
