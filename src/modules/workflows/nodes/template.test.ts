import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { collectRun, runWorkflow } from '../executor.ts';
import { compileWorkflow, testDeps } from '../testing.ts';

describe('template node', () => {
  it('substitutes references: text as is, lists and objects as JSON, missing values as nothing', async () => {
    const wf = compileWorkflow({
      nodes: [
        { id: 'start', type: 'start', data: {} },
        {
          id: 't',
          type: 'template',
          data: {
            template:
              'Q={{start.message}} H={{start.history}} none=[{{start.history.5.content}}] {braces} {{"json": 1}}',
          },
        },
        { id: 'end', type: 'end', data: { answer: '{{t.text}}' } },
      ],
      edges: [
        { source: 'start', target: 't' },
        { source: 't', target: 'end' },
      ],
    });
    const { result } = await collectRun(
      runWorkflow(wf, { botId: 'b', message: 'x', history: [{ role: 'user', content: 'y' }] }, testDeps({})),
    );
    assert.equal(result.answer, 'Q=x H=[{"role":"user","content":"y"}] none=[] {braces} {{"json": 1}}');
  });
});
