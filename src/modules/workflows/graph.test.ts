import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyzeGraph, type GraphNodeInfo } from './graph.ts';

const n = (id: string, extra: Partial<GraphNodeInfo> = {}): GraphNodeInfo => ({ id, branches: undefined, ...extra });
const e = (source: string, target: string, source_handle?: string) => ({ source, target, source_handle });

describe('analyzeGraph', () => {
  it('orders topologically (document order breaks ties) and finds ancestors', () => {
    const g = analyzeGraph(
      [n('s', { role: 'start' }), n('b'), n('a'), n('j'), n('end', { role: 'end' })],
      [e('s', 'a'), e('s', 'b'), e('a', 'j'), e('b', 'j'), e('j', 'end')],
    );
    assert.deepEqual(g.order, ['s', 'b', 'a', 'j', 'end']);
    assert.deepEqual([...g.ancestors('j')].sort(), ['a', 'b', 's']);
    assert.deepEqual(g.cycles, []);
  });

  it('knows which nodes make an end node certain: paths without branching nodes', () => {
    // s → llm → cond →(yes) end_a ; llm2 → end_a as well; cond →(no) end_b
    const g = analyzeGraph(
      [
        n('s', { role: 'start' }),
        n('llm'),
        n('cond', { branches: ['yes', 'no'] }),
        n('llm2'),
        n('end_a', { role: 'end' }),
        n('end_b', { role: 'end' }),
      ],
      [e('s', 'llm'), e('llm', 'cond'), e('cond', 'llm2', 'yes'), e('llm2', 'end_a'), e('cond', 'end_b', 'no')],
    );
    assert.deepEqual([...g.certifiers('end_a')], ['llm2']);
    assert.deepEqual([...g.certifiers('end_b')], []);
    assert.deepEqual(g.reachesEnd.has('llm'), true);
  });

  it('reports cycles by component', () => {
    const g = analyzeGraph(
      [n('s', { role: 'start' }), n('a'), n('b'), n('c')],
      [e('s', 'a'), e('a', 'b'), e('b', 'a'), e('c', 'c')],
    );
    assert.deepEqual(g.cycles, [['a', 'b'], ['c']]);
    assert.equal(g.order.length, 4);
  });
});
