import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { collectRun, runWorkflow } from '../executor.ts';
import { compileWorkflow, createScriptedLlm, sleep, testDeps } from '../testing.ts';

/** start → extract (a list of topics) → each: llm → end; then the joined text is answered. */
function iterationDoc(iteration: Record<string, unknown>) {
  return compileWorkflow({
    nodes: [
      { id: 'start', type: 'start', data: {} },
      {
        id: 'extract',
        type: 'parameter_extractor',
        data: { text: '{{start.message}}', parameters: [{ name: 'topics', type: 'array[string]', required: true }] },
      },
      {
        id: 'each',
        type: 'iteration',
        data: {
          items: '{{extract.topics}}',
          ...iteration,
          graph: {
            nodes: [
              { id: 'item_start', type: 'start', data: {} },
              { id: 'k', type: 'knowledge', data: { query: '{{each.item}}' } },
              { id: 'write', type: 'llm', data: { prompt: '#{{each.index}} {{each.item}} for {{start.message}}' } },
              { id: 'item_end', type: 'end', data: { answer: '{{write.text}}', sources: '{{k.sources}}' } },
            ],
            edges: [
              { source: 'item_start', target: 'k' },
              { source: 'k', target: 'write' },
              { source: 'write', target: 'item_end' },
            ],
          },
        },
      },
      {
        id: 'end',
        type: 'end',
        data: { answer: '{{each.text}} ({{each.count}}, {{each.truncated}})', sources: '{{each.sources}}' },
      },
    ],
    edges: [
      { source: 'start', target: 'extract' },
      { source: 'extract', target: 'each' },
      { source: 'each', target: 'end' },
    ],
  });
}

const retrieve = async (_bot: string, query: string) => [
  { chunkId: query, documentId: 'd', filename: `${query}.md`, content: `about ${query}`, score: 1 },
];

describe('iteration node', { timeout: 20_000 }, () => {
  it('runs the sub-graph for each item, in order, with item, index and outer variables', async () => {
    const llm = createScriptedLlm((req) => {
      const prompt = req.messages[0]?.content ?? '';
      return prompt.startsWith('Extract') || req.system.startsWith('Extract')
        ? '{"topics": ["alpha", "beta", "gamma"]}'
        : prompt.toUpperCase();
    });
    const { result } = await collectRun(
      runWorkflow(iterationDoc({ separator: ' | ' }), { botId: 'b', message: 'm' }, { ...testDeps({ llm }), retrieve }),
    );
    assert.equal(result.status, 'succeeded', JSON.stringify(result.error));
    assert.equal(result.answer, '#0 ALPHA FOR M | #1 BETA FOR M | #2 GAMMA FOR M (3, false)');
    assert.deepEqual(
      result.sources.map((s) => s.chunk_id),
      ['alpha', 'beta', 'gamma'],
    );
    const each = result.trace.nodes.find((n) => n.node_id === 'each');
    const iterations = each?.details?.iterations as Array<Array<{ node_id: string; status: string }>>;
    assert.equal(iterations.length, 3);
    assert.deepEqual(
      iterations[0]?.map((n) => [n.node_id, n.status]),
      [
        ['item_start', 'succeeded'],
        ['k', 'succeeded'],
        ['write', 'succeeded'],
        ['item_end', 'succeeded'],
      ],
    );
    // 3 top-level nodes + extract + 4 per item × 3 items.
    assert.equal(result.trace.steps, 4 + 12);
  });

  it('bounds items and concurrency, and both bounds are capped by the limits', async () => {
    const topics = Array.from({ length: 10 }, (_, i) => `t${i}`);
    let inFlight = 0;
    let peak = 0;
    const llm = createScriptedLlm((req) => {
      if (req.system.startsWith('Extract')) return JSON.stringify({ topics });
      return {
        text: 'x',
        before: (async () => {
          peak = Math.max(peak, ++inFlight);
          await sleep(5);
          inFlight--;
        })(),
      };
    });
    const run = async (config: Record<string, unknown>, limits = {}) => {
      peak = 0;
      const { result } = await collectRun(
        runWorkflow(iterationDoc(config), { botId: 'b', message: 'm' }, { ...testDeps({ llm, limits }), retrieve }),
      );
      assert.equal(result.status, 'succeeded', JSON.stringify(result.error));
      return result;
    };
    const bounded = await run({ max_items: 6, concurrency: 3 });
    assert.match(bounded.answer, /\(6, true\)$/);
    assert.equal(peak, 3, 'three items at a time, no more');
    const capped = await run({ max_items: 6, concurrency: 3 }, { maxIterationItems: 4, maxIterationConcurrency: 2 });
    assert.match(capped.answer, /\(4, true\)$/);
    assert.equal(peak, 2);
  });

  it('fails on the first failing item, naming the item and the inner node', async () => {
    const llm = createScriptedLlm((req) => {
      if (req.system.startsWith('Extract')) return '{"topics": ["ok", "bad", "later"]}';
      return req.messages[0]?.content.includes('bad') ? { text: '', error: new Error('model refused') } : 'fine';
    });
    const { result } = await collectRun(
      runWorkflow(iterationDoc({}), { botId: 'b', message: 'm' }, { ...testDeps({ llm }), retrieve }),
    );
    assert.equal(result.error?.node_id, 'each');
    assert.equal(result.error?.code, 'node_failed');
    assert.equal(result.error?.message, 'Item 1: node "write" failed: model refused');
    const each = result.trace.nodes.find((n) => n.node_id === 'each');
    assert.equal(each?.status, 'failed');
    assert.equal(each?.details?.failed_item, 1);
  });

  it("counts inner nodes against the run's step budget", async () => {
    const llm = createScriptedLlm((req) =>
      req.system.startsWith('Extract') ? '{"topics": ["a", "b", "c", "d"]}' : 'x',
    );
    const { result } = await collectRun(
      runWorkflow(
        iterationDoc({}),
        { botId: 'b', message: 'm' },
        { ...testDeps({ llm, limits: { maxSteps: 10 } }), retrieve },
      ),
    );
    assert.equal(result.error?.code, 'step_budget_exceeded');
    assert.equal(result.error?.node_id, 'each');
    assert.equal(result.trace.steps, 10);
  });
});
