import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LlmError } from '../../../providers/llm/spec.ts';
import { collectRun, runWorkflow } from '../executor.ts';
import { compileWorkflow, createScriptedLlm, testDeps } from '../testing.ts';
import type { LlmChoice } from '../workflow-deps.ts';

function llmDoc(data: Record<string, unknown>) {
  return compileWorkflow({
    nodes: [
      { id: 'start', type: 'start', data: {} },
      { id: 'llm_1', type: 'llm', data },
      { id: 'end', type: 'end', data: { answer: '{{llm_1.text}}' } },
    ],
    edges: [
      { source: 'start', target: 'llm_1' },
      { source: 'llm_1', target: 'end' },
    ],
  });
}

describe('llm node', () => {
  it('sends the rendered system and prompt, recent history, temperature and max tokens to the chosen model', async () => {
    const llm = createScriptedLlm(() => 'Fine, thanks.');
    const choices: Array<LlmChoice | undefined> = [];
    const wf = llmDoc({
      provider: 'anthropic',
      model: 'claude-sonnet-4-5-20250929',
      system: 'Session {{sys.session_id}}',
      prompt: 'Q: {{start.message}}',
      history: '{{start.history}}',
      history_limit: 3,
      temperature: 0.1,
      max_tokens: 50,
    });
    const history = [
      { role: 'user' as const, content: 'oldest' },
      { role: 'assistant' as const, content: 'old answer' },
      { role: 'assistant' as const, content: 'more' },
      { role: 'user' as const, content: 'recent' },
    ];
    const { result } = await collectRun(
      runWorkflow(
        wf,
        { botId: 'b', message: 'how are you?', history, sessionId: 's9' },
        {
          ...testDeps({}),
          llm: {
            resolve(choice) {
              choices.push(choice);
              return llm;
            },
          },
        },
      ),
    );
    assert.equal(result.answer, 'Fine, thanks.');
    assert.deepEqual(choices, [{ provider: 'anthropic', model: 'claude-sonnet-4-5-20250929' }]);
    const request = llm.requests[0];
    assert.equal(request?.system, 'Session s9');
    assert.equal(request?.temperature, 0.1);
    assert.equal(request?.maxTokens, 50);
    // The last 3 turns, starting with a user turn, alternating: the consecutive user turns are joined.
    assert.deepEqual(request?.messages, [{ role: 'user', content: 'recent\n\nQ: how are you?' }]);
    assert.equal(result.trace.nodes[1]?.outputs?.model, 'openai-compatible:scripted');
  });

  it('names the model that answered: the fallback’s, when the chosen model failed over', async () => {
    const answeredByFallback = createScriptedLlm(() => 'From the fallback.', {
      provider: 'openai',
      modelId: 'gpt-4o-mini',
    });
    const chosen = { ...answeredByFallback, provider: 'anthropic' as const, modelId: 'claude-sonnet-4-5-20250929' };
    const { result } = await collectRun(
      runWorkflow(
        llmDoc({ prompt: '{{start.message}}' }),
        { botId: 'b', message: 'hi' },
        {
          ...testDeps({}),
          llm: { resolve: () => chosen },
        },
      ),
    );
    assert.equal(result.trace.nodes[1]?.outputs?.model, 'openai:gpt-4o-mini');
  });

  it('uses the original defaults (temperature 0.7, 2000 tokens) and no history unless asked', async () => {
    const llm = createScriptedLlm(() => 'ok');
    await collectRun(
      runWorkflow(
        llmDoc({ prompt: '{{start.message}}' }),
        {
          botId: 'b',
          message: 'hi',
          history: [{ role: 'user', content: 'earlier' }],
        },
        testDeps({ llm }),
      ),
    );
    assert.equal(llm.requests[0]?.temperature, 0.7);
    assert.equal(llm.requests[0]?.maxTokens, 2000);
    assert.deepEqual(llm.requests[0]?.messages, [{ role: 'user', content: 'hi' }]);
  });

  it('fails with the provider error, or when the prompt is empty', async () => {
    const failing = createScriptedLlm(() => ({
      text: '',
      error: new LlmError('rate limited', { retryable: true, status: 429 }),
    }));
    const { result } = await collectRun(
      runWorkflow(llmDoc({ prompt: 'x' }), { botId: 'b', message: 'm' }, testDeps({ llm: failing })),
    );
    assert.deepEqual(result.error, { code: 'llm_error', message: 'rate limited', node_id: 'llm_1', node_type: 'llm' });

    const empty = await collectRun(
      runWorkflow(
        llmDoc({ prompt: '{{start.message}}' }),
        { botId: 'b', message: '' },
        testDeps({ llm: createScriptedLlm(() => 'x') }),
      ),
    );
    assert.equal(empty.result.error?.code, 'empty_prompt');
  });
});
