import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../config.ts';
import { validateLlmChoice } from '../../providers/llm/registry.ts';
import { findModelChoiceProblems } from './model-choices.ts';
import { sampleWorkflows } from './samples.ts';

/** Only Anthropic is configured on this server. */
const config = loadConfig({ ANTHROPIC_API_KEY: 'k' });
const check = (choice: { provider?: string | undefined; model?: string | undefined }) => {
  validateLlmChoice(config, choice);
};

describe('findModelChoiceProblems', () => {
  it('passes documents whose nodes use configured providers or the default', () => {
    for (const doc of Object.values(sampleWorkflows)) assert.deepEqual(findModelChoiceProblems(doc, check), []);
    const named = {
      nodes: [{ id: 'llm_1', type: 'llm', data: { provider: 'anthropic', model: 'claude-haiku-4-5', prompt: 'x' } }],
    };
    assert.deepEqual(findModelChoiceProblems(named, check), []);
  });

  it('names each model node whose provider is not configured, inside iterations too', () => {
    const doc = {
      nodes: [
        { id: 'start', type: 'start', data: {} },
        { id: 'classify', type: 'question_classifier', data: { provider: 'openai', classes: [] } },
        {
          id: 'loop',
          type: 'iteration',
          data: {
            items: '{{start.history}}',
            graph: { nodes: [{ id: 'inner', type: 'llm', data: { provider: 'bedrock', prompt: 'x' } }], edges: [] },
          },
        },
        { id: 'tpl', type: 'template', data: { provider: 'openai', template: 'not a model node' } },
      ],
    };
    assert.deepEqual(findModelChoiceProblems(doc, check), [
      {
        code: 'invalid_config',
        node_id: 'classify',
        field: 'data.provider',
        message: "data.provider: LLM provider 'openai' is not configured on this server",
      },
      {
        code: 'invalid_config',
        node_id: 'inner',
        field: 'data.provider',
        parent_node_id: 'loop',
        message: "data.provider: LLM provider 'bedrock' is not configured on this server",
      },
    ]);
  });

  it('ignores what is not a document (the engine reports that)', () => {
    for (const doc of [null, 'x', { nodes: 'no' }, { nodes: [null, { id: 1 }, { id: 'a', type: 'llm' }] }]) {
      assert.deepEqual(findModelChoiceProblems(doc, check), []);
    }
  });
});
