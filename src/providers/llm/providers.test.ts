import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { execPath } from 'node:process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { type AnthropicRequestBody, type FakeLlmServer, startFakeAnthropic } from '../../../test/fakes/anthropic.ts';
import {
  type ConverseRequestBody,
  FAKE_AWS_CREDENTIALS,
  startFakeBedrock,
} from '../../../test/fakes/bedrock-converse.ts';
import { type ChatCompletionsRequestBody, startFakeOpenAiChat } from '../../../test/fakes/openai-chat.ts';
import { createAnthropicLlm } from './anthropic.ts';
import { createBedrockLlm } from './bedrock.ts';
import { complete } from './complete.ts';
import { createOpenAiLlm } from './openai.ts';
import { createOpenAiCompatibleLlm } from './openai-compatible.ts';
import { LlmError, type LlmEvent, type LlmModel, type LlmRequest } from './spec.ts';

const request: LlmRequest = {
  system: 'Answer from the context.',
  messages: [
    { role: 'user', content: 'Earlier question' },
    { role: 'assistant', content: 'Earlier answer' },
    { role: 'user', content: 'What is the refund window?' },
  ],
};

async function drain(events: AsyncIterable<LlmEvent>): Promise<{ text: string; chunks: number; finish: LlmEvent }> {
  let text = '';
  let chunks = 0;
  for await (const event of events) {
    if (event.type === 'finish') return { text, chunks, finish: event };
    text += event.text;
    chunks++;
  }
  throw new Error('stream ended without finish');
}

const echo = (r: { system: string; prompt: string }) => `[${r.system}] You asked: ${r.prompt}`;

describe('Anthropic provider against the Messages API fake', () => {
  let fake: FakeLlmServer<AnthropicRequestBody>;
  let model: LlmModel;
  before(async () => {
    fake = await startFakeAnthropic({ reply: echo, usage: { inputTokens: 321, outputTokens: 9 } });
    model = createAnthropicLlm({ apiKey: 'test-key', baseUrl: fake.url })('claude-sonnet-4-5-20250929');
  });
  after(() => fake.close());

  it('streams text deltas and ends with the usage Anthropic reported', async () => {
    const { text, chunks, finish } = await drain(model.stream(request));
    assert.equal(text, '[Answer from the context.] You asked: What is the refund window?');
    assert.ok(chunks > 3, 'text arrives in several deltas');
    assert.deepEqual(finish, {
      type: 'finish',
      usage: { inputTokens: 321, outputTokens: 9 },
      finishReason: 'stop',
      provider: 'anthropic',
      model: 'claude-sonnet-4-5-20250929',
    });
    const sent = fake.requests.at(-1)!;
    assert.equal(sent.headers['anthropic-version'], '2023-06-01');
    assert.equal(sent.body.stream, true);
    assert.equal(sent.body.temperature, 0.7);
    assert.equal(sent.body.max_tokens, 2000);
    assert.deepEqual(
      sent.body.messages.map((m) => m.role),
      ['user', 'assistant', 'user'],
    );
  });

  it('answers without streaming through complete()', async () => {
    const result = await complete(model, { ...request, temperature: 0, maxTokens: 50 });
    assert.equal(result.text, '[Answer from the context.] You asked: What is the refund window?');
    assert.deepEqual(result.usage, { inputTokens: 321, outputTokens: 9 });
    const sent = fake.requests.at(-1)!;
    assert.equal(sent.stream, false);
    assert.equal(sent.body.temperature, 0);
    assert.equal(sent.body.max_tokens, 50);
  });

  it('reports a cut answer as finishReason length', async () => {
    const { chunks, finish } = await drain(model.stream({ ...request, maxTokens: 2 }));
    assert.equal(chunks, 2);
    assert.equal(finish.type === 'finish' && finish.finishReason, 'length');
  });

  it('turns a wrong key into a non-retryable LlmError with status 401', async () => {
    const wrong = createAnthropicLlm({ apiKey: 'wrong', baseUrl: `${fake.url}/v1` })('claude-sonnet-4-5-20250929');
    await assert.rejects(drain(wrong.stream(request)), (error: unknown) => {
      assert.ok(error instanceof LlmError);
      assert.equal(error.status, 401);
      assert.equal(error.retryable, false);
      assert.match(error.message, /invalid x-api-key/);
      return true;
    });
  });

  it('marks 529 overloaded as retryable', async () => {
    fake.script.failTimes = 1;
    await assert.rejects(drain(model.stream(request)), { name: 'LlmError', status: 529, retryable: true });
  });
});

describe('OpenAI provider against the Chat Completions fake', () => {
  let fake: FakeLlmServer<ChatCompletionsRequestBody>;
  let model: LlmModel;
  before(async () => {
    fake = await startFakeOpenAiChat({ reply: echo, usage: { inputTokens: 120, outputTokens: 8 } });
    model = createOpenAiLlm({ apiKey: 'test-key', baseUrl: `${fake.url}/v1` })('gpt-4o-mini');
  });
  after(() => fake.close());

  it('streams text and takes usage from the include_usage chunk', async () => {
    const { text, finish } = await drain(model.stream(request));
    assert.equal(text, '[Answer from the context.] You asked: What is the refund window?');
    assert.deepEqual(finish, {
      type: 'finish',
      usage: { inputTokens: 120, outputTokens: 8 },
      finishReason: 'stop',
      provider: 'openai',
      model: 'gpt-4o-mini',
    });
    const sent = fake.requests.at(-1)!;
    assert.equal(sent.path, '/v1/chat/completions');
    assert.equal(sent.headers.authorization, 'Bearer test-key');
    assert.deepEqual(sent.body.stream_options, { include_usage: true });
    assert.deepEqual(sent.body.messages[0], { role: 'system', content: 'Answer from the context.' });
  });

  it('answers without streaming through complete()', async () => {
    const result = await complete(model, request);
    assert.equal(result.text, '[Answer from the context.] You asked: What is the refund window?');
    assert.deepEqual(result.usage, { inputTokens: 120, outputTokens: 8 });
    assert.equal(fake.requests.at(-1)!.stream, false);
  });

  it('marks 429 as retryable', async () => {
    fake.script.failTimes = 1;
    await assert.rejects(complete(model, request), { name: 'LlmError', status: 429, retryable: true });
  });
});

describe('OpenAI-compatible provider (Ollama, vLLM)', () => {
  let fake: FakeLlmServer<ChatCompletionsRequestBody>;
  before(async () => {
    fake = await startFakeOpenAiChat({ reply: 'local answer', apiKey: 'vllm-key' });
  });
  after(() => fake.close());

  it('streams from the configured base URL with its own key', async () => {
    const model = createOpenAiCompatibleLlm({ baseUrl: `${fake.url}/v1`, apiKey: 'vllm-key' })('llama3.1:8b');
    const { text, finish } = await drain(model.stream(request));
    assert.equal(text, 'local answer');
    assert.equal(finish.type === 'finish' && finish.provider, 'openai-compatible');
    assert.equal(fake.requests.at(-1)!.body.model, 'llama3.1:8b');
  });

  it('sends no Authorization header at all when no key is configured', async () => {
    const sentHeaders: Headers[] = [];
    const spy: typeof fetch = (input, init) => {
      sentHeaders.push(new Headers(init?.headers));
      return fetch(input, init);
    };
    const model = createOpenAiCompatibleLlm({ baseUrl: `${fake.url}/v1`, fetch: spy })('llama3.1:8b');
    await assert.rejects(drain(model.stream(request)), { name: 'LlmError', status: 401 });
    assert.equal(sentHeaders.length, 1);
    assert.equal(sentHeaders[0]?.has('authorization'), false);
  });
});

describe('Bedrock provider against the Converse fake', () => {
  let fake: FakeLlmServer<ConverseRequestBody>;
  let model: LlmModel;
  const modelId = 'global.anthropic.claude-sonnet-4-5-20250929-v1:0';
  before(async () => {
    fake = await startFakeBedrock(
      { reply: echo, usage: { inputTokens: 77, outputTokens: 11 }, apiKey: FAKE_AWS_CREDENTIALS.secretAccessKey },
      { region: 'eu-central-1' },
    );
    model = createBedrockLlm({
      region: 'eu-central-1',
      endpoint: fake.url,
      credentials: async () => FAKE_AWS_CREDENTIALS,
    })(modelId);
  });
  after(() => fake.close());

  it('streams ConverseStream event-stream frames, signed with SigV4', async () => {
    const { text, finish } = await drain(model.stream(request));
    assert.equal(text, '[Answer from the context.] You asked: What is the refund window?');
    assert.deepEqual(finish, {
      type: 'finish',
      usage: { inputTokens: 77, outputTokens: 11 },
      finishReason: 'stop',
      provider: 'bedrock',
      model: modelId,
    });
    const sent = fake.requests.at(-1)!;
    assert.equal(sent.path, `/model/${encodeURIComponent(modelId)}/converse-stream`);
    assert.equal(sent.model, modelId);
    assert.deepEqual(sent.body.inferenceConfig, { maxTokens: 2000, temperature: 0.7 });
    assert.match(String(sent.headers.authorization), /Credential=AKIDFAKEBEDROCK00001\/\d{8}\/eu-central-1\/bedrock\//);
  });

  it('answers without streaming through Converse', async () => {
    const result = await complete(model, request);
    assert.equal(result.text, '[Answer from the context.] You asked: What is the refund window?');
    assert.deepEqual(result.usage, { inputTokens: 77, outputTokens: 11 });
    assert.match(fake.requests.at(-1)!.path, /\/converse$/);
  });

  it('is refused by the fake when the signature was made with another secret', async () => {
    const forged = createBedrockLlm({
      region: 'eu-central-1',
      endpoint: fake.url,
      credentials: async () => ({ ...FAKE_AWS_CREDENTIALS, secretAccessKey: 'not-the-secret' }),
    })(modelId);
    await assert.rejects(complete(forged, request), (error: unknown) => {
      assert.ok(error instanceof LlmError);
      assert.equal(error.status, 403);
      assert.equal(error.retryable, false);
      assert.match(error.message, /signature/);
      return true;
    });
  });

  it('takes credentials from the standard AWS provider chain when none are injected', async () => {
    // A child process, so the environment the chain reads is its own and this one stays untouched.
    const script = `
      const { createBedrockLlm } = await import(${JSON.stringify(import.meta.resolve('./bedrock.ts'))});
      const model = createBedrockLlm({ region: 'eu-central-1', endpoint: process.argv[1] })('m');
      let text = '';
      for await (const e of model.stream({ system: '', messages: [{ role: 'user', content: 'chain' }] })) {
        if (e.type === 'text') text += e.text;
      }
      console.log(text);`;
    const { stdout } = await promisify(execFile)(execPath, ['--input-type=module', '-e', script, fake.url], {
      env: {
        AWS_ACCESS_KEY_ID: FAKE_AWS_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: FAKE_AWS_CREDENTIALS.secretAccessKey,
        AWS_CONFIG_FILE: '/nonexistent',
        AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
      },
      timeout: 20_000,
    });
    assert.equal(stdout.trim(), '[] You asked: chain');
  });

  it('surfaces a mid-stream exception frame after the text it followed', async () => {
    fake.script.failAfterChunks = 2;
    const seen: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const event of model.stream(request)) if (event.type === 'text') seen.push(event.text);
      })(),
      { name: 'LlmError', retryable: true },
    );
    fake.script.failAfterChunks = undefined;
    assert.equal(seen.length, 2);
  });
});
