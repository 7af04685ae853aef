import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type AnthropicRequestBody, type FakeLlmServer, startFakeAnthropic } from '../../../test/fakes/anthropic.ts';
import { type ChatCompletionsRequestBody, startFakeOpenAiChat } from '../../../test/fakes/openai-chat.ts';
import { type Environment, loadConfig } from '../../config.ts';
import { metrics } from '../../platform/metrics.ts';
import { complete } from './complete.ts';
import { createLlmRegistry } from './registry.ts';
import { LlmError, type LlmEvent, type LlmRequest } from './spec.ts';

const request: LlmRequest = { system: 'Be brief.', messages: [{ role: 'user', content: 'Where is the office?' }] };
const FAST_RETRY = { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 20 };

async function collectStream(events: AsyncIterable<LlmEvent>) {
  const texts: string[] = [];
  for await (const event of events) {
    if (event.type === 'text') texts.push(event.text);
    else return { text: texts.join(''), texts, finish: event };
  }
  throw new Error('no finish event');
}

describe('retries, timeouts and fallback (registry over the Anthropic and OpenAI fakes)', () => {
  let anthropic: FakeLlmServer<AnthropicRequestBody>;
  let openai: FakeLlmServer<ChatCompletionsRequestBody>;
  const logged: Record<string, unknown>[] = [];
  const logger = { warn: (fields: Record<string, unknown>) => void logged.push(fields) };

  const registry = (env: Environment = {}) =>
    createLlmRegistry(
      loadConfig({
        ANTHROPIC_API_KEY: 'test-key',
        ANTHROPIC_BASE_URL: anthropic.url,
        OPENAI_API_KEY: 'test-key',
        OPENAI_BASE_URL: `${openai.url}/v1`,
        LLM_FALLBACK_PROVIDER: 'openai',
        LLM_TIMEOUT_MS: '2000',
        ...env,
      }),
      { retry: FAST_RETRY, logger },
    );

  before(async () => {
    anthropic = await startFakeAnthropic();
    openai = await startFakeOpenAiChat({ reply: 'answer from openai' });
  });
  after(() => Promise.all([anthropic.close(), openai.close()]));
  beforeEach(() => {
    for (const key of Object.keys(anthropic.script)) delete anthropic.script[key as keyof typeof anthropic.script];
    anthropic.script.reply = 'answer from anthropic';
    anthropic.requests.length = 0;
    openai.requests.length = 0;
    logged.length = 0;
  });

  it('retries 529 overloaded and 429 rate limits, then succeeds on the same provider', async () => {
    anthropic.script.failTimes = 2;
    anthropic.script.failStatus = 529;
    const first = await collectStream(registry().resolve()!.stream(request));
    assert.equal(first.text, 'answer from anthropic');
    assert.equal(anthropic.requests.length, 3);

    anthropic.script.failTimes = 1;
    anthropic.script.failStatus = 429;
    const second = await complete(registry().resolve()!, request);
    assert.equal(second.text, 'answer from anthropic');
    assert.equal(second.provider, 'anthropic');
    assert.equal(anthropic.requests.length, 5);
    assert.equal(openai.requests.length, 0);
    assert.deepEqual(
      logged.map((l) => [l.provider, l.status, l.attempt]),
      [
        ['anthropic', 529, 1],
        ['anthropic', 529, 2],
        ['anthropic', 429, 1],
      ],
    );
  });

  it('falls back to openai when anthropic keeps failing before any text', async () => {
    anthropic.script.failTimes = 10;
    const { text, finish } = await collectStream(registry().resolve()!.stream(request));
    assert.equal(text, 'answer from openai');
    assert.equal(finish.type === 'finish' && finish.provider, 'openai');
    assert.equal(finish.type === 'finish' && finish.model, 'gpt-4o-mini');
    assert.equal(anthropic.requests.length, FAST_RETRY.maxAttempts);
    assert.equal(openai.requests.length, 1);
  });

  it('counts tokens in the metrics under the model that answered: the fallback’s, for streams and whole answers', async () => {
    const tokens = async (provider: string) =>
      (await metrics.llmTokens.get()).values
        .filter((v) => v.labels.provider === provider && v.labels.direction === 'output')
        .reduce((sum, v) => sum + v.value, 0);
    const [anthropicBefore, openaiBefore] = [await tokens('anthropic'), await tokens('openai')];
    anthropic.script.failTimes = 10;
    const streamed = await collectStream(registry().resolve()!.stream(request));
    anthropic.script.failTimes = 10;
    const whole = await complete(registry().resolve()!, request);
    assert.equal(streamed.finish.type === 'finish' && streamed.finish.provider, 'openai');
    assert.equal(whole.provider, 'openai');
    const expected =
      (streamed.finish.type === 'finish' ? streamed.finish.usage.outputTokens : 0) + whole.usage.outputTokens;
    assert.ok(expected > 0);
    assert.equal((await tokens('openai')) - openaiBefore, expected);
    assert.equal(await tokens('anthropic'), anthropicBefore, 'nothing under the provider that failed');
  });

  it('falls back at once, without retrying, on a non-retryable error', async () => {
    anthropic.script.failTimes = 1;
    anthropic.script.failStatus = 401;
    const result = await complete(registry().resolve()!, request);
    assert.equal(result.provider, 'openai');
    assert.equal(anthropic.requests.length, 1);
  });

  it('surfaces an error once text has streamed: no retry, no fallback', async () => {
    anthropic.script.reply = 'one two three four';
    anthropic.script.failAfterChunks = 2;
    const texts: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const event of registry().resolve()!.stream(request))
          if (event.type === 'text') texts.push(event.text);
      })(),
      (error: unknown) => error instanceof LlmError && /overloaded|Overloaded/.test(error.message),
    );
    assert.deepEqual(texts, ['one ', 'two ']);
    assert.equal(anthropic.requests.length, 1);
    assert.equal(openai.requests.length, 0);
  });

  it('times out a provider that never answers, retries it, then falls back', async () => {
    anthropic.script.hang = true;
    const started = performance.now();
    const reg = registry({ LLM_TIMEOUT_MS: '150' });
    const { text } = await collectStream(reg.resolve()!.stream(request));
    const elapsed = performance.now() - started;
    assert.equal(text, 'answer from openai');
    assert.equal(anthropic.requests.length, FAST_RETRY.maxAttempts);
    assert.ok(elapsed >= 3 * 150 && elapsed < 3_000, `took ${elapsed} ms`);
    assert.match(String(logged[0]?.err), /sent nothing for 150 ms/);
  });

  it('treats a stream that goes silent after text as an idle timeout and surfaces it', async () => {
    anthropic.script.reply = 'partial answer that stops';
    anthropic.script.stallAfterChunks = 1;
    const texts: string[] = [];
    const started = performance.now();
    await assert.rejects(
      (async () => {
        for await (const event of registry({ LLM_TIMEOUT_MS: '150' }).resolve()!.stream(request)) {
          if (event.type === 'text') texts.push(event.text);
        }
      })(),
      { name: 'LlmError', message: /sent nothing for 150 ms/ },
    );
    assert.deepEqual(texts, ['partial ']);
    assert.ok(performance.now() - started < 2_000);
    assert.equal(openai.requests.length, 0);
  });

  it('does not count the time the consumer spends on an event against the idle timeout', async () => {
    anthropic.script.reply = 'slow reader gets everything';
    const events = registry({ LLM_TIMEOUT_MS: '100' }).resolve()!.stream(request);
    const texts: string[] = [];
    for await (const event of events) {
      if (event.type === 'text') {
        texts.push(event.text);
        if (texts.length === 1) await sleep(250);
      }
    }
    assert.equal(texts.join(''), 'slow reader gets everything');
  });

  it('stops at once when the caller aborts, without retry or fallback', async () => {
    anthropic.script.reply = 'a b c d e f g h';
    anthropic.script.tokenDelayMs = 30;
    const controller = new AbortController();
    const texts: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const event of registry()
          .resolve()!
          .stream({ ...request, signal: controller.signal })) {
          if (event.type === 'text') texts.push(event.text);
          if (texts.length === 2) controller.abort();
        }
      })(),
      { name: 'AbortError' },
    );
    assert.equal(anthropic.requests.length, 1);
    assert.equal(openai.requests.length, 0);
  });

  it('reports every provider when all of them fail', async () => {
    anthropic.script.failTimes = 10;
    openai.script.failTimes = 10;
    try {
      await assert.rejects(complete(registry().resolve()!, request), (error: unknown) => {
        assert.ok(error instanceof LlmError);
        assert.match(error.message, /anthropic → openai/);
        assert.match(error.message, /anthropic answered 529/);
        assert.match(error.message, /openai answered 429/);
        return true;
      });
      assert.equal(openai.requests.length, FAST_RETRY.maxAttempts);
    } finally {
      openai.script.failTimes = 0;
    }
  });
});
