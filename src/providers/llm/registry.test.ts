import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type AnthropicRequestBody, type FakeLlmServer, startFakeAnthropic } from '../../../test/fakes/anthropic.ts';
import { ConfigError, loadConfig } from '../../config.ts';
import { AppError } from '../../platform/errors.ts';
import { complete } from './complete.ts';
import { estimateCostUsd } from './cost.ts';
import { createLlmRegistry, validateLlmChoice } from './registry.ts';

const anthropicOnly = loadConfig({ ANTHROPIC_API_KEY: 'k' });
const request = { system: '', messages: [{ role: 'user' as const, content: 'hi' }] };

function validationFields(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof AppError);
    assert.equal(error.code, 'validation_failed');
    return (error.errors ?? []).map((e) => e.field);
  }
  assert.fail('expected a validation error');
}

describe('validateLlmChoice: what a bot may choose', () => {
  it('accepts configured providers, free-form model names and the default', () => {
    assert.deepEqual(validateLlmChoice(anthropicOnly, undefined), { provider: 'anthropic', model: undefined });
    assert.deepEqual(validateLlmChoice(anthropicOnly, { model: 'claude-haiku-4-5' }), {
      provider: 'anthropic',
      model: 'claude-haiku-4-5',
    });
    const config = loadConfig({ ANTHROPIC_API_KEY: 'k', LLM_FALLBACK_PROVIDER: 'bedrock' });
    for (const model of [
      'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
      'arn:aws:bedrock:us-east-1:123:inference-profile/x',
    ]) {
      assert.equal(validateLlmChoice(config, { provider: 'bedrock', model }).model, model);
    }
    const local = loadConfig({ OPENAI_COMPATIBLE_BASE_URL: 'http://ollama:11434/v1' });
    for (const model of ['llama3.1:8b', 'meta-llama/Llama-3.1-8B-Instruct', 'hf.co/org/repo:Q4_K_M']) {
      assert.equal(validateLlmChoice(local, { provider: 'openai-compatible', model }).model, model);
    }
    assert.deepEqual(validateLlmChoice(anthropicOnly, { provider: 'none' }), { provider: 'none', model: undefined });
  });

  it('rejects providers the operator did not configure, and unknown ones', () => {
    assert.deepEqual(
      validationFields(() => validateLlmChoice(anthropicOnly, { provider: 'openai' })),
      ['provider'],
    );
    assert.deepEqual(
      validationFields(() => validateLlmChoice(anthropicOnly, { provider: 'bedrock' })),
      ['provider'],
    );
    assert.deepEqual(
      validationFields(() => validateLlmChoice(anthropicOnly, { provider: 'http://evil.example' })),
      ['provider'],
    );
  });

  it('rejects model ids that are URLs, paths or odd characters', () => {
    for (const model of [
      'https://evil.example/v1',
      'HTTP://evil.example',
      '//evil.example/x',
      'http:evil',
      'file:///etc/passwd',
      '../../admin',
      'gpt-4o?x=1',
      'model#frag',
      'has space',
      '',
      'x'.repeat(201),
    ]) {
      assert.deepEqual(
        validationFields(() => validateLlmChoice(anthropicOnly, { model })),
        ['model'],
        model,
      );
    }
  });

  it('needs a model for an openai-compatible server without a default', () => {
    const local = loadConfig({ OPENAI_COMPATIBLE_BASE_URL: 'http://vllm:8000/v1', ANTHROPIC_API_KEY: 'k' });
    assert.deepEqual(
      validationFields(() => validateLlmChoice(local, { provider: 'openai-compatible' })),
      ['model'],
    );
  });
});

describe('createLlmRegistry', () => {
  let fake: FakeLlmServer<AnthropicRequestBody>;
  before(async () => {
    fake = await startFakeAnthropic({ reply: (r) => `model ${r.model}` });
  });
  after(() => fake.close());

  it('resolves nothing when no LLM is configured, so chat answers extractively', () => {
    const registry = createLlmRegistry(loadConfig({}));
    assert.deepEqual(registry.available(), []);
    assert.equal(registry.resolve(), undefined);
    assert.equal(registry.resolve({ provider: 'none' }), undefined);
    assert.throws(() => registry.resolve({ provider: 'anthropic' }), AppError);
  });

  it('lists configured providers with the default first', () => {
    const config = loadConfig({
      OPENAI_API_KEY: 'k',
      ANTHROPIC_API_KEY: 'k',
      LLM_PROVIDER: 'openai',
      OPENAI_COMPATIBLE_BASE_URL: 'http://ollama:11434/v1',
    });
    assert.deepEqual(createLlmRegistry(config).available(), ['openai', 'anthropic', 'openai-compatible']);
  });

  it('uses the configured default model, or the model the bot chose, at the configured endpoint', async () => {
    const registry = createLlmRegistry(loadConfig({ ANTHROPIC_API_KEY: 'test-key', ANTHROPIC_BASE_URL: fake.url }));
    const byDefault = registry.resolve()!;
    assert.equal(byDefault.modelId, 'claude-sonnet-4-5-20250929');
    assert.equal((await complete(byDefault, request)).text, 'model claude-sonnet-4-5-20250929');
    const chosen = registry.resolve({ model: 'claude-haiku-4-5' })!;
    assert.equal((await complete(chosen, request)).text, 'model claude-haiku-4-5');
    assert.throws(() => registry.resolve({ model: 'https://evil.example' }), AppError);
  });

  it('fails at start-up when LLM_PROVIDER or LLM_FALLBACK_PROVIDER lack what they need', () => {
    assert.throws(
      () => createLlmRegistry(loadConfig({ LLM_PROVIDER: 'anthropic', LLM_FALLBACK_PROVIDER: 'openai' })),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.deepEqual(error.issues, [
          "LLM_PROVIDER: 'anthropic' needs ANTHROPIC_API_KEY",
          "LLM_FALLBACK_PROVIDER: 'openai' needs OPENAI_API_KEY",
        ]);
        return true;
      },
    );
    assert.throws(
      () => createLlmRegistry(loadConfig({ OPENAI_COMPATIBLE_BASE_URL: 'http://ollama:11434/v1' })),
      /OPENAI_COMPATIBLE_MODEL/,
    );
  });
});

describe('estimateCostUsd', () => {
  it('prices the default models per million tokens', () => {
    const usage = { inputTokens: 1_000_000, outputTokens: 100_000 };
    assert.equal(estimateCostUsd('anthropic', 'claude-sonnet-4-5-20250929', usage), 3 + 1.5);
    assert.equal(estimateCostUsd('openai', 'gpt-4o-mini', usage), 0.15 + 0.06);
    assert.equal(estimateCostUsd('bedrock', 'global.anthropic.claude-sonnet-4-5-20250929-v1:0', usage), 4.5);
    const small = estimateCostUsd('anthropic', 'claude-sonnet-4-5', { inputTokens: 1200, outputTokens: 300 });
    assert.ok(small !== null && Math.abs(small - 0.0081) < 1e-12);
  });

  it('returns null for models it has no price for, instead of guessing', () => {
    const usage = { inputTokens: 10, outputTokens: 10 };
    assert.equal(estimateCostUsd('anthropic', 'claude-opus-4-1', usage), null);
    assert.equal(estimateCostUsd('openai', 'gpt-4o-mini-custom', usage), null);
    assert.equal(estimateCostUsd('openai-compatible', 'gpt-4o-mini', usage), null);
  });
});
