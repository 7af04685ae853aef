import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { collectRun, runWorkflow } from '../executor.ts';
import { compileWorkflow, testDeps } from '../testing.ts';
import { evaluateCondition } from './condition.ts';

const op = (operator: Parameters<typeof evaluateCondition>[0]['operator'], ignore_case = false) => ({
  operator,
  ignore_case,
});

describe('condition node', () => {
  it('evaluates every operator', () => {
    const cases: Array<[ReturnType<typeof op>, unknown, string | number | boolean | undefined, boolean]> = [
      [op('equals'), 'Yes', 'Yes', true],
      [op('equals'), 'Yes', 'yes', false],
      [op('equals', true), 'Yes', 'yes', true],
      [op('equals'), 3, '3.0', true],
      [op('equals'), true, 'true', true],
      [op('not_equals'), 'a', 'b', true],
      [op('contains'), 'refund please', 'refund', true],
      [op('contains'), ['a', 'b'], 'b', true],
      [op('contains'), ['ab'], 'a', false],
      [op('contains'), undefined, 'a', false],
      [op('not_contains'), 'hello', 'x', true],
      [op('starts_with'), 'hello', 'he', true],
      [op('starts_with'), ['hello'], 'he', false],
      [op('ends_with', true), 'HELLO', 'lo', true],
      [op('is_empty'), '  ', undefined, true],
      [op('is_empty'), [], undefined, true],
      [op('is_empty'), undefined, undefined, true],
      [op('is_empty'), 0, undefined, false],
      [op('not_empty'), 'x', undefined, true],
      [op('gt'), 5, 3, true],
      [op('gt'), '10', '9', true],
      [op('gte'), 3, 3, true],
      [op('lt'), 2, '3', true],
      [op('lte'), 4, 3, false],
      [op('gt'), 'ten', 3, false],
      [op('lt'), undefined, 3, false],
    ];
    for (const [cond, actual, expected, want] of cases) {
      assert.equal(
        evaluateCondition(cond, actual, expected),
        want,
        `${cond.operator} ${JSON.stringify(actual)} ${expected}`,
      );
    }
  });

  it('takes the first matching case, "and"/"or" as configured, else the false branch', async () => {
    const wf = compileWorkflow({
      nodes: [
        { id: 'start', type: 'start', data: {} },
        {
          id: 'route',
          type: 'condition',
          data: {
            cases: [
              {
                id: 'urgent',
                logical_operator: 'and',
                conditions: [
                  { variable: '{{start.message}}', operator: 'contains', value: 'urgent', ignore_case: true },
                  { variable: '{{start.history}}', operator: 'not_empty' },
                ],
              },
              {
                id: 'question',
                logical_operator: 'or',
                conditions: [
                  { variable: '{{start.message}}', operator: 'ends_with', value: '?' },
                  { variable: '{{start.message}}', operator: 'starts_with', value: '{{sys.session_id}}' },
                ],
              },
            ],
          },
        },
        { id: 'e_urgent', type: 'end', data: { answer: 'urgent' } },
        { id: 'e_question', type: 'end', data: { answer: 'question' } },
        { id: 'e_other', type: 'end', data: { answer: 'other' } },
      ],
      edges: [
        { source: 'start', target: 'route' },
        { source: 'route', source_handle: 'urgent', target: 'e_urgent' },
        { source: 'route', source_handle: 'question', target: 'e_question' },
        { source: 'route', source_handle: 'false', target: 'e_other' },
      ],
    });
    const answer = async (message: string, history: Array<{ role: 'user'; content: string }> = [], sessionId = 's') =>
      (await collectRun(runWorkflow(wf, { botId: 'b', message, history, sessionId }, testDeps({})))).result.answer;
    assert.equal(await answer('URGENT: help?', [{ role: 'user', content: 'earlier' }]), 'urgent');
    assert.equal(await answer('URGENT: help?'), 'question', 'the first case needs history too');
    assert.equal(await answer('ticket 42 status', [], 'ticket'), 'question', 'value templates are rendered');
    assert.equal(await answer('thanks'), 'other');
    const { result } = await collectRun(runWorkflow(wf, { botId: 'b', message: 'thanks' }, testDeps({})));
    const details = result.trace.nodes.find((n) => n.node_id === 'route')?.details;
    assert.equal((details?.evaluated as unknown[] | undefined)?.length, 4, 'each evaluated condition is in the trace');
  });
});
