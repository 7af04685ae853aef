import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { collectRun, runWorkflow } from '../executor.ts';
import { compileWorkflow, testDeps } from '../testing.ts';

describe('end node', () => {
  it('returns the rendered answer with the merged sources of several references ("answer" is the same node)', async () => {
    const retrieve = async (_bot: string, query: string) => [
      { chunkId: 1, documentId: 'd', filename: 'a.pdf', content: `shared ${query}`, score: 0.5 },
      { chunkId: query.length, documentId: 'd', filename: 'b.pdf', content: query, score: 0.4 },
    ];
    for (const type of ['end', 'answer']) {
      const wf = compileWorkflow({
        nodes: [
          { id: 'start', type: 'start', data: {} },
          { id: 'k1', type: 'knowledge', data: { query: 'ab' } },
          { id: 'k2', type: 'knowledge', data: { query: 'abcd' } },
          {
            id: 'out',
            type,
            data: { answer: 'Found {{k1.count}} and {{k2.count}}', sources: ['{{k1.sources}}', '{{k2.sources}}'] },
          },
        ],
        edges: [
          { source: 'start', target: 'k1' },
          { source: 'k1', target: 'k2' },
          { source: 'k2', target: 'out' },
        ],
      });
      const { events, result } = await collectRun(
        runWorkflow(wf, { botId: 'b', message: 'm' }, { ...testDeps({}), retrieve }),
      );
      assert.equal(result.answer, 'Found 2 and 2');
      // chunk 1 of document d appears in both lists and is cited once.
      assert.deepEqual(
        result.sources.map((s) => [s.chunk_id, s.filename]),
        [
          [1, 'a.pdf'],
          [2, 'b.pdf'],
          [4, 'b.pdf'],
        ],
      );
      const sourcesEvent = events.find((e) => e.type === 'sources');
      assert.ok(sourcesEvent?.type === 'sources');
      assert.equal(sourcesEvent.sources.length, 3);
      assert.deepEqual(result.trace.nodes.at(-1)?.outputs?.answer, 'Found 2 and 2');
    }
  });
});
