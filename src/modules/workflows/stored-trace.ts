import { boundForTrace, type RunTrace } from './trace.ts';

/**
 * The trace as it is stored with a run, at most `maxBytes` of JSON. The engine already cuts long
 * strings, but 200 nodes with large outputs (iterations, HTTP bodies) still add up; a runs table
 * must not grow by megabytes per chat message. Cut strings harder first, then drop the nodes'
 * inputs, outputs and details (keeping status, timing, usage and errors), and mark the trace.
 */
export type StoredTrace = RunTrace & { truncated?: 'strings' | 'payloads' | 'nodes' };

const STRING_CAPS = [1000, 200];

export function boundStoredTrace(trace: RunTrace, maxBytes: number): StoredTrace {
  if (size(trace) <= maxBytes) return trace;
  for (const cap of STRING_CAPS) {
    const cut = { ...(boundForTrace(trace, cap) as RunTrace), truncated: 'strings' as const };
    if (size(cut) <= maxBytes) return cut;
  }
  const bare: StoredTrace = {
    ...trace,
    nodes: trace.nodes.map(({ inputs: _i, outputs: _o, details: _d, ...node }) => node),
    truncated: 'payloads',
  };
  if (size(bare) <= maxBytes) return bare;
  // Still too big (thousands of nodes cannot happen with the validator's limits, but be safe).
  return { ...trace, nodes: [], truncated: 'nodes' };
}

function size(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value), 'utf8');
}
