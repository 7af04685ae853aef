import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { collectRun, runWorkflow } from '../executor.ts';
import { compileWorkflow, createScriptedLlm, testDeps } from '../testing.ts';
import { parseClassAnswer } from './question-classifier.ts';

const classes = [
  { id: 'billing', label: 'Billing questions' },
  { id: 'tech', label: 'Technical support' },
  { id: 'other', label: 'Anything else' },
];

describe('question_classifier node', () => {
  it('reads model answers robustly', () => {
    const cases: Array<[string, string | undefined, string | undefined]> = [
      ['billing', 'billing', 'id'],
      ['  Billing.\n', 'billing', 'id'],
      ['"TECH"', 'tech', 'id'],
      ['**tech**', 'tech', 'id'],
      ['Technical support', 'tech', 'label'],
      ['2', 'tech', 'number'],
      ['Category 3', 'other', 'number'],
      ['```json\n{"class_id": "billing"}\n```', 'billing', 'json.class_id'],
      ['{"category": "Technical support"}', 'tech', 'json.category'],
      ['The question is about billing.', 'billing', 'mention'],
      ['It could be billing or tech.', undefined, undefined],
      ['no idea', undefined, undefined],
      ['7', undefined, undefined],
      ['technically speaking, other', 'other', 'mention'],
    ];
    for (const [raw, id, how] of cases) {
      const parsed = parseClassAnswer(raw, classes);
      assert.equal(parsed?.choice.id, id, raw);
      assert.equal(parsed?.matchedBy, how, raw);
    }
  });

  it('branches on the class the model picks, falling back to the default class', async () => {
    const wf = compileWorkflow({
      nodes: [
        { id: 'start', type: 'start', data: {} },
        {
          id: 'classify',
          type: 'question_classifier',
          data: {
            query: '{{start.message}}',
            classes,
            default_class: 'other',
            instructions: 'Session {{sys.session_id}}',
          },
        },
        { id: 'e_billing', type: 'end', data: { answer: 'B {{classify.class_label}}' } },
        { id: 'e_tech', type: 'end', data: { answer: 'T' } },
        { id: 'e_other', type: 'end', data: { answer: 'O {{classify.class_id}}' } },
      ],
      edges: [
        { source: 'start', target: 'classify' },
        { source: 'classify', source_handle: 'billing', target: 'e_billing' },
        { source: 'classify', source_handle: 'tech', target: 'e_tech' },
        { source: 'classify', source_handle: 'other', target: 'e_other' },
      ],
    });
    const llm = createScriptedLlm((req) => {
      const q = req.messages[0]?.content ?? '';
      return q.includes('invoice') ? 'billing' : q.includes('crash') ? 'Technical support' : 'I am not sure';
    });
    const run = async (message: string) =>
      (await collectRun(runWorkflow(wf, { botId: 'b', message, sessionId: 's1' }, testDeps({ llm })))).result;
    assert.equal((await run('my invoice')).answer, 'B Billing questions');
    assert.equal((await run('app crash')).answer, 'T');
    const fallback = await run('hmm');
    assert.equal(fallback.answer, 'O other');
    const trace = fallback.trace.nodes.find((n) => n.node_id === 'classify');
    assert.deepEqual(trace?.details, { raw_answer: 'I am not sure', matched_by: 'default' });
    assert.equal(trace?.branch, 'other');
    // The prompt lists every class and the instructions, and asks for the id only.
    const system = llm.requests[0]?.system ?? '';
    assert.match(system, /1\. billing: Billing questions\n2\. tech: Technical support\n3\. other: Anything else/);
    assert.match(system, /Session s1/);
    assert.equal(llm.requests[0]?.temperature, 0);
  });
});
