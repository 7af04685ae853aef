import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { collectRun, runWorkflow } from '../executor.ts';
import { compileWorkflow, testDeps } from '../testing.ts';

describe('variable_aggregator node', () => {
  it('outputs the first non-empty value (blank text counts as empty) and its index', async () => {
    const wf = compileWorkflow({
      nodes: [
        { id: 'start', type: 'start', data: {} },
        { id: 'blank', type: 'template', data: { template: '   ' } },
        { id: 'agg', type: 'variable_aggregator', data: { variables: ['{{blank.text}}', '{{start.message}}'] } },
        { id: 'end', type: 'end', data: { answer: '{{agg.output}}@{{agg.index}}' } },
      ],
      edges: [
        { source: 'start', target: 'blank' },
        { source: 'blank', target: 'agg' },
        { source: 'agg', target: 'end' },
      ],
    });
    assert.equal(
      (await collectRun(runWorkflow(wf, { botId: 'b', message: 'hi' }, testDeps({})))).result.answer,
      'hi@1',
    );
    assert.equal((await collectRun(runWorkflow(wf, { botId: 'b', message: '' }, testDeps({})))).result.answer, '@-1');
  });
});
