import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { boundStoredTrace } from './stored-trace.ts';
import type { NodeTrace, RunTrace } from './trace.ts';

const node = (id: string, text: string): NodeTrace => ({
  node_id: id,
  node_type: 'template',
  status: 'succeeded',
  duration_ms: 3,
  inputs: { template: text },
  outputs: { text },
  usage: { input_tokens: 1, output_tokens: 2 },
});

const trace = (nodes: NodeTrace[]): RunTrace => ({
  run_id: 'r',
  status: 'succeeded',
  started_at: '2025-01-01T00:00:00.000Z',
  finished_at: '2025-01-01T00:00:01.000Z',
  duration_ms: 1000,
  steps: nodes.length,
  usage: { input_tokens: 0, output_tokens: 0 },
  nodes,
});

const bytes = (v: unknown) => Buffer.byteLength(JSON.stringify(v));

describe('boundStoredTrace', () => {
  it('keeps a trace that fits as it is', () => {
    const t = trace([node('a', 'short')]);
    assert.equal(boundStoredTrace(t, 10_000), t);
  });

  it('cuts strings harder when the trace is too big, keeping every node', () => {
    const t = trace(Array.from({ length: 10 }, (_, i) => node(`n${i}`, 'x'.repeat(4000))));
    const cut = boundStoredTrace(t, 40_000);
    assert.ok(bytes(cut) <= 40_000, `${bytes(cut)} bytes`);
    assert.equal(cut.truncated, 'strings');
    assert.equal(cut.nodes.length, 10);
    assert.match(String(cut.nodes[0]?.outputs?.text), /^x{1000}… \[3000 more chars\]$/);
  });

  it('drops payloads but keeps status, timing, usage and errors when cutting strings is not enough', () => {
    const t = trace(Array.from({ length: 200 }, (_, i) => node(`n${i}`, 'x'.repeat(4000))));
    t.nodes[5] = { ...(t.nodes[5] as NodeTrace), status: 'failed', error: { code: 'boom', message: 'it broke' } };
    const cut = boundStoredTrace(t, 40 * 1024);
    assert.ok(bytes(cut) <= 40 * 1024, `${bytes(cut)} bytes`);
    assert.equal(cut.truncated, 'payloads');
    assert.equal(cut.nodes.length, 200);
    assert.equal(cut.nodes[0]?.outputs, undefined);
    assert.deepEqual(cut.nodes[5]?.error, { code: 'boom', message: 'it broke' });
    assert.deepEqual(cut.nodes[0]?.usage, { input_tokens: 1, output_tokens: 2 });
  });

  it('drops the nodes as a last resort', () => {
    const t = trace(Array.from({ length: 200 }, (_, i) => node(`n${i}`, 'x')));
    const cut = boundStoredTrace(t, 4096);
    assert.equal(cut.truncated, 'nodes');
    assert.deepEqual(cut.nodes, []);
    assert.equal(cut.steps, 200);
  });
});
