import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { collectRun, runWorkflow } from '../executor.ts';
import { compileWorkflow, createFakeRetriever, testDeps } from '../testing.ts';

const corpus = [
  {
    botId: 'bot-1',
    chunkId: 1,
    documentId: 'd1',
    filename: 'plans.pdf',
    content: 'The Pro plan costs 20 euros.',
    score: 0,
    page: 3,
    metadata: { category: 'billing' },
  },
  {
    botId: 'bot-1',
    chunkId: 2,
    documentId: 'd2',
    filename: 'setup.md',
    content: 'Install the Pro agent with npm.',
    score: 0,
    section: 'Install',
    metadata: { category: 'technical' },
  },
  {
    botId: 'bot-2',
    chunkId: 3,
    documentId: 'd3',
    filename: 'other.pdf',
    content: 'Another bot: Pro plan is free.',
    score: 0,
  },
];

function knowledgeDoc(data: Record<string, unknown>) {
  return compileWorkflow({
    nodes: [
      { id: 'start', type: 'start', data: {} },
      { id: 'k', type: 'knowledge', data },
      { id: 'end', type: 'end', data: { answer: '{{k.result}}', sources: '{{k.sources}}' } },
    ],
    edges: [
      { source: 'start', target: 'k' },
      { source: 'k', target: 'end' },
    ],
  });
}

describe('knowledge node', () => {
  it("searches this bot's documents with the node's top_k, mode and filters", async () => {
    const retriever = createFakeRetriever(corpus);
    const wf = knowledgeDoc({
      query: 'Pro plan {{start.message}}',
      top_k: 3,
      mode: 'fulltext',
      filters: { metadata: { category: '{{sys.session_id}}' } },
    });
    const { result } = await collectRun(
      runWorkflow(
        wf,
        { botId: 'bot-1', message: 'price', sessionId: 'billing' },
        { ...testDeps({}), retrieve: retriever.retrieve },
      ),
    );
    assert.equal(result.status, 'succeeded');
    assert.equal(retriever.calls.length, 1);
    const call = retriever.calls[0];
    assert.equal(call?.botId, 'bot-1');
    assert.equal(call?.query, 'Pro plan price');
    assert.equal(call?.options.topK, 3);
    assert.equal(call?.options.mode, 'fulltext');
    assert.deepEqual(call?.options.filters, { metadata: { category: 'billing' } });
    assert.ok(call?.options.signal instanceof AbortSignal);
    assert.equal(result.answer, '[1] plans.pdf, p. 3\nThe Pro plan costs 20 euros.');
    assert.deepEqual(
      result.sources.map((s) => s.chunk_id),
      [1],
    );
    assert.equal(result.sources[0]?.page, 3);
  });

  it('drops passages under the score threshold and formats sections', async () => {
    const retrieve = async () => [
      { chunkId: 'a', documentId: 'd', filename: 'f.md', content: ' kept ', score: 0.8, section: 'Intro' },
      { chunkId: 'b', documentId: 'd', filename: 'f.md', content: 'dropped', score: 0.2 },
    ];
    const { result } = await collectRun(
      runWorkflow(
        knowledgeDoc({ query: '{{start.message}}', score_threshold: 0.5 }),
        { botId: 'b', message: 'q' },
        {
          ...testDeps({}),
          retrieve,
        },
      ),
    );
    assert.equal(result.answer, '[1] f.md, Intro\nkept');
    assert.equal(result.trace.nodes[1]?.outputs?.count, 1);
  });

  it('does not search for an empty query', async () => {
    const retriever = createFakeRetriever(corpus);
    const { result } = await collectRun(
      runWorkflow(
        knowledgeDoc({ query: '{{start.message}}' }),
        { botId: 'bot-1', message: '  ' },
        {
          ...testDeps({}),
          retrieve: retriever.retrieve,
        },
      ),
    );
    assert.equal(result.status, 'succeeded');
    assert.equal(retriever.calls.length, 0);
    assert.equal(result.answer, '');
  });
});
