import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { coalesceEmbedder } from './coalesce.ts';
import type { Embedder } from './spec.ts';

/** An inner embedder whose calls stay open until the test answers them. */
function controlledEmbedder() {
  const calls: { texts: string[]; purpose: string | undefined; answer(): void; fail(err: Error): void }[] = [];
  const inner: Embedder = {
    modelKey: 'fake:model@2',
    dimensions: 2,
    embed(texts, options = {}) {
      return new Promise((resolve, reject) => {
        calls.push({
          texts,
          purpose: options.purpose,
          answer: () => resolve(texts.map((t) => [t.length, 1])),
          fail: reject,
        });
      });
    },
  };
  return { inner, calls };
}

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

describe('coalesceEmbedder', () => {
  it('merges requests that arrive within the wait while a slot is free', async () => {
    const { inner, calls } = controlledEmbedder();
    const embedder = coalesceEmbedder(inner, { maxBatch: 64, maxWaitMs: 5, concurrency: 2 });
    const a = embedder.embed(['a', 'bb']);
    const b = embedder.embed(['ccc']);
    await tick(20);
    assert.equal(calls.length, 1);
    assert.deepEqual(calls[0]?.texts, ['a', 'bb', 'ccc']);
    calls[0]?.answer();
    assert.deepEqual(await a, [
      [1, 1],
      [2, 1],
    ]);
    assert.deepEqual(await b, [[3, 1]]);
  });

  it('keeps merging while every slot is busy, then sends what queued in one call', async () => {
    const { inner, calls } = controlledEmbedder();
    const embedder = coalesceEmbedder(inner, { maxBatch: 64, maxWaitMs: 1, concurrency: 1 });
    const first = embedder.embed(['one']);
    await tick(10);
    assert.equal(calls.length, 1);
    const later = [embedder.embed(['two']), embedder.embed(['three', 'four']), embedder.embed(['five'])];
    await tick(20);
    assert.equal(calls.length, 1, 'no second call while the only slot is busy');
    calls[0]?.answer();
    await first;
    await tick(0);
    assert.equal(calls.length, 2);
    assert.deepEqual(calls[1]?.texts, ['two', 'three', 'four', 'five']);
    calls[1]?.answer();
    assert.deepEqual(await later[1], [
      [5, 1],
      [4, 1],
    ]);
  });

  it('sends a full batch at once and splits the queue at batch boundaries per free slot', async () => {
    const { inner, calls } = controlledEmbedder();
    const embedder = coalesceEmbedder(inner, { maxBatch: 4, maxWaitMs: 1_000, concurrency: 1 });
    const full = embedder.embed(['a', 'b', 'c', 'd']);
    assert.equal(calls.length, 1, 'a request of a full batch goes straight through');
    const small = [embedder.embed(['e', 'f']), embedder.embed(['g', 'h']), embedder.embed(['i'])];
    calls[0]?.answer();
    await full;
    await tick(0);
    assert.equal(calls.length, 2);
    assert.deepEqual(calls[1]?.texts, ['e', 'f', 'g', 'h'], 'one full batch for the one free slot');
    calls[1]?.answer();
    await Promise.all(small.slice(0, 2));
    await tick(0);
    assert.deepEqual(calls[2]?.texts, ['i']);
    calls[2]?.answer();
    assert.deepEqual(await small[2], [[1, 1]]);
  });

  it('lets queries bypass the queue', async () => {
    const { inner, calls } = controlledEmbedder();
    const embedder = coalesceEmbedder(inner, { maxBatch: 64, maxWaitMs: 1_000, concurrency: 1 });
    void embedder.embed(['document text']);
    const query = embedder.embed(['question?'], { purpose: 'query' });
    assert.equal(calls.length, 1);
    assert.equal(calls[0]?.purpose, 'query');
    calls[0]?.answer();
    assert.deepEqual(await query, [[9, 1]]);
  });

  it('drops an aborted request before its batch leaves, and fails every request of a failed call', async () => {
    const { inner, calls } = controlledEmbedder();
    const embedder = coalesceEmbedder(inner, { maxBatch: 64, maxWaitMs: 10, concurrency: 1 });
    const controller = new AbortController();
    const aborted = embedder.embed(['gone'], { signal: controller.signal });
    const kept = [embedder.embed(['x']), embedder.embed(['y'])];
    controller.abort(new Error('stop'));
    await assert.rejects(aborted, /stop/);
    await tick(30);
    assert.equal(calls.length, 1);
    assert.deepEqual(calls[0]?.texts, ['x', 'y']);
    calls[0]?.fail(new Error('provider down'));
    for (const k of kept) await assert.rejects(k, /provider down/);
  });
});
