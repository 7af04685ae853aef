import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { collectRun, runWorkflow } from './executor.ts';
import { sampleWorkflows } from './samples.ts';
import { compileWorkflow, createFakeRetriever, createScriptedLlm, testDeps } from './testing.ts';
import { validateWorkflow } from './validate.ts';

const corpus = [
  {
    botId: 'bot-1',
    chunkId: 1,
    documentId: 'd1',
    filename: 'pricing.pdf',
    content: 'Refunds are possible within 30 days of the invoice.',
    score: 0,
    page: 4,
    metadata: { category: 'billing' },
  },
  {
    botId: 'bot-1',
    chunkId: 2,
    documentId: 'd2',
    filename: 'install.md',
    content: 'If the agent crashes on start, upgrade Node to 24.',
    score: 0,
    section: 'Troubleshooting',
    metadata: { category: 'technical' },
  },
  {
    botId: 'bot-2',
    chunkId: 3,
    documentId: 'd3',
    filename: 'secret.pdf',
    content: 'Refunds for another bot.',
    score: 0,
    metadata: { category: 'billing' },
  },
];

describe('sample workflows', () => {
  it('are valid, and docs/workflows holds the same documents', () => {
    for (const [name, doc] of Object.entries(sampleWorkflows)) {
      assert.deepEqual(validateWorkflow(doc).errors, [], name);
      const file = new URL(`../../../docs/workflows/${name}.json`, import.meta.url);
      assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), doc, `${name}.json is out of date`);
    }
  });

  it("basic-rag: Start → Knowledge → LLM → End answers from the bot's documents with sources", async () => {
    const retriever = createFakeRetriever(corpus);
    const llm = createScriptedLlm((req) => ({
      text: req.system.includes('30 days') ? 'Within 30 days [1].' : 'I do not know.',
      usage: { inputTokens: 120, outputTokens: 6 },
    }));
    const run = runWorkflow(
      compileWorkflow(sampleWorkflows['basic-rag']),
      {
        botId: 'bot-1',
        message: 'When are refunds possible?',
        history: [
          { role: 'user', content: 'Hi' },
          { role: 'assistant', content: 'Hello!' },
        ],
      },
      { ...testDeps({ llm }), retrieve: retriever.retrieve },
    );
    const { events, result } = await collectRun(run);
    assert.equal(result.status, 'succeeded');
    assert.equal(result.answer, 'Within 30 days [1].');
    assert.deepEqual(
      result.sources.map((s) => [s.filename, s.page]),
      [['pricing.pdf', 4]],
    );
    assert.equal(retriever.calls[0]?.options.topK, 5);
    assert.equal(retriever.calls[0]?.options.mode, 'hybrid');
    assert.deepEqual(
      llm.requests[0]?.messages.map((m) => m.role),
      ['user', 'assistant', 'user'],
    );
    assert.equal(llm.requests[0]?.temperature, 0.7);
    assert.equal(llm.requests[0]?.maxTokens, 2000);
    assert.deepEqual(result.usage, { input_tokens: 120, output_tokens: 6 });
    assert.ok(events.filter((e) => e.type === 'delta').length > 1, 'the answer streamed in pieces');
  });

  it('classifier-routing: each class searches its own documents with its own prompt', async () => {
    const wf = compileWorkflow(sampleWorkflows['classifier-routing']);
    const retriever = createFakeRetriever(corpus);
    const llm = createScriptedLlm((req) => {
      if (req.system.startsWith('You classify')) {
        return /refund|invoice/i.test(req.messages[0]?.content ?? '')
          ? '{"class_id": "billing"}'
          : 'This is a technical question.';
      }
      return req.system.startsWith('You are the billing assistant')
        ? 'Billing: 30 days [1].'
        : 'Tech: upgrade Node [1].';
    });
    const deps = { ...testDeps({ llm }), retrieve: retriever.retrieve };

    const billing = await collectRun(runWorkflow(wf, { botId: 'bot-1', message: 'Can I get a refund?' }, deps));
    assert.equal(billing.result.answer, 'Billing: 30 days [1].');
    assert.deepEqual(
      billing.result.sources.map((s) => s.chunk_id),
      [1],
    );
    assert.deepEqual(retriever.calls.at(-1)?.options.filters, { metadata: { category: 'billing' } });
    assert.equal(retriever.calls.at(-1)?.options.topK, 4);
    const skipped = billing.result.trace.nodes.filter((n) => n.status === 'skipped').map((n) => n.node_id);
    assert.deepEqual(skipped, ['knowledge_technical', 'llm_technical', 'end_technical']);

    const tech = await collectRun(runWorkflow(wf, { botId: 'bot-1', message: 'It crashes on start' }, deps));
    assert.equal(tech.result.answer, 'Tech: upgrade Node [1].');
    assert.deepEqual(
      tech.result.sources.map((s) => s.filename),
      ['install.md'],
    );
    assert.deepEqual(retriever.calls.at(-1)?.options.filters, { metadata: { category: 'technical' } });
    assert.equal(retriever.calls.at(-1)?.options.topK, 6);
    assert.equal(
      tech.events
        .filter((e) => e.type === 'delta')
        .map((e) => (e.type === 'delta' ? e.text : ''))
        .join(''),
      'Tech: upgrade Node [1].',
    );
    assert.equal(tech.result.trace.nodes.find((n) => n.node_id === 'classify')?.details?.matched_by, 'mention');
  });
});
