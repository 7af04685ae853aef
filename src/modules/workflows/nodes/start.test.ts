import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { collectRun, runWorkflow } from '../executor.ts';
import { compileWorkflow, testDeps } from '../testing.ts';

describe('start node', () => {
  it('exposes the message, the history and the session, and sys exposes run-wide values', async () => {
    const wf = compileWorkflow({
      nodes: [
        { id: 'start', type: 'start', data: {} },
        {
          id: 'end',
          type: 'end',
          data: {
            answer:
              '{{start.message}}|{{start.history.0.content}}|{{start.session_id}}|{{sys.bot_id}}|{{sys.run_id}}|{{sys.now}}',
          },
        },
      ],
      edges: [{ source: 'start', target: 'end' }],
    });
    const { result } = await collectRun(
      runWorkflow(
        wf,
        { botId: 'bot-7', message: 'hi', history: [{ role: 'user', content: 'before' }], sessionId: 's1', runId: 'r1' },
        { ...testDeps({}), clock: { now: () => Date.parse('2025-06-01T12:00:00Z') } },
      ),
    );
    assert.equal(result.answer, 'hi|before|s1|bot-7|r1|2025-06-01T12:00:00.000Z');
  });
});
