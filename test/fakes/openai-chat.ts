/**
 * A loopback OpenAI Chat Completions API (`POST /v1/chat/completions`) for tests and benchmarks,
 * also standing in for OpenAI-compatible servers (Ollama, vLLM): bearer key, JSON replies, SSE
 * `data: {chunk}` lines ending with `data: [DONE]`, the usage chunk of
 * `stream_options.include_usage`, and OpenAI's error JSON. Scripted like the other fakes.
 */
import {
  contentText,
  type FakeLlmScript,
  type FakeLlmServer,
  type FakeProtocol,
  type ReplyPlan,
  randomId,
  startFakeLlmServer,
} from './anthropic.ts';

export interface ChatCompletionsRequestBody {
  model: string;
  messages: { role: string; content: string | { type: string; text?: string }[] }[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  max_tokens?: number;
  max_completion_tokens?: number;
  temperature?: number;
}

const OPENAI_ERRORS: Record<number, [type: string, code: string | null, message: string]> = {
  400: ['invalid_request_error', null, 'Invalid request.'],
  401: ['invalid_request_error', 'invalid_api_key', 'Incorrect API key provided.'],
  404: ['invalid_request_error', 'model_not_found', 'The model does not exist or you do not have access to it.'],
  429: ['requests', 'rate_limit_exceeded', 'Rate limit reached for requests. Please try again in 1s.'],
  500: ['server_error', null, 'The server had an error while processing your request. Sorry about that!'],
  503: ['server_error', null, 'The engine is currently overloaded, please try again later.'],
};

const created = () => Math.floor(Date.now() / 1000);
const fingerprint = 'fp_fake0001';

function usageJson(plan: ReplyPlan) {
  return {
    prompt_tokens: plan.usage.inputTokens,
    completion_tokens: plan.usage.outputTokens,
    total_tokens: plan.usage.inputTokens + plan.usage.outputTokens,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

const includeUsage = (body: ChatCompletionsRequestBody) => body.stream_options?.include_usage === true;

function chunk(plan: ReplyPlan, body: ChatCompletionsRequestBody, choices: unknown[], usage?: unknown): string {
  const data: Record<string, unknown> = {
    id: `chatcmpl-${plan.id}`,
    object: 'chat.completion.chunk',
    created: created(),
    model: plan.model,
    system_fingerprint: fingerprint,
    choices,
  };
  if (includeUsage(body)) data.usage = usage ?? null;
  return `data: ${JSON.stringify(data)}\n\n`;
}

function openaiProtocol(): FakeProtocol<ChatCompletionsRequestBody> {
  return {
    defaultFailStatus: 429,

    parse(method, path, headers, body, apiKey) {
      if (method !== 'POST' || path.split('?')[0] !== '/v1/chat/completions') {
        return { ok: false, status: 404, message: `Unknown request URL: ${method} ${path}.` };
      }
      if (headers.authorization !== `Bearer ${apiKey}`) {
        return { ok: false, status: 401, message: 'Incorrect API key provided.' };
      }
      const b = body as Partial<ChatCompletionsRequestBody> | undefined;
      if (!b || typeof b.model !== 'string') {
        return { ok: false, status: 400, message: 'you must provide a model parameter' };
      }
      if (!Array.isArray(b.messages) || b.messages.length === 0) {
        return { ok: false, status: 400, message: "[] is too short - 'messages'" };
      }
      const system = b.messages
        .filter((m) => m.role === 'system' || m.role === 'developer')
        .map((m) => contentText(m.content))
        .join('\n');
      const lastUser = b.messages.findLast((m) => m.role === 'user');
      return {
        ok: true,
        maxTokens: b.max_completion_tokens ?? b.max_tokens,
        request: {
          method,
          path,
          headers,
          body: b as ChatCompletionsRequestBody,
          model: b.model,
          stream: b.stream === true,
          system,
          prompt: contentText(lastUser?.content),
        },
      };
    },

    error(status, message, retryAfterSeconds) {
      const [type, code, defaultMessage] = OPENAI_ERRORS[status] ?? ['server_error', null, 'Internal server error'];
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'x-request-id': randomId('req_'),
      };
      if (retryAfterSeconds !== undefined) headers['retry-after'] = String(retryAfterSeconds);
      return {
        status,
        headers,
        body: JSON.stringify({ error: { message: message ?? defaultMessage, type, param: null, code } }),
      };
    },

    json(plan) {
      return {
        status: 200,
        headers: { 'content-type': 'application/json', 'x-request-id': randomId('req_') },
        body: JSON.stringify({
          id: `chatcmpl-${plan.id}`,
          object: 'chat.completion',
          created: created(),
          model: plan.model,
          choices: [
            {
              index: 0,
              message: { role: 'assistant', content: plan.text, refusal: null, annotations: [] },
              logprobs: null,
              finish_reason: plan.truncated ? 'length' : 'stop',
            },
          ],
          usage: usageJson(plan),
          service_tier: 'default',
          system_fingerprint: fingerprint,
        }),
      };
    },

    streamHeaders() {
      return { 'content-type': 'text/event-stream; charset=utf-8', 'x-request-id': randomId('req_') };
    },

    streamStart(plan, request) {
      return chunk(plan, request.body, [
        { index: 0, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null },
      ]);
    },

    streamDelta(piece, plan, request) {
      return chunk(plan, request.body, [{ index: 0, delta: { content: piece }, logprobs: null, finish_reason: null }]);
    },

    streamEnd(plan, request) {
      let out = chunk(plan, request.body, [
        { index: 0, delta: {}, logprobs: null, finish_reason: plan.truncated ? 'length' : 'stop' },
      ]);
      if (includeUsage(request.body)) out += chunk(plan, request.body, [], usageJson(plan));
      return `${out}data: [DONE]\n\n`;
    },

    streamError() {
      return `data: ${JSON.stringify({
        error: {
          message: 'The server had an error while processing your request. Sorry about that!',
          type: 'server_error',
          param: null,
          code: null,
        },
      })}\n\n`;
    },
  };
}

/**
 * Starts a fake Chat Completions server; its API base URL is `${url}/v1` (OPENAI_BASE_URL or
 * OPENAI_COMPATIBLE_BASE_URL). Accepts `Authorization: Bearer test-key` by default.
 */
export function startFakeOpenAiChat(
  script: FakeLlmScript<ChatCompletionsRequestBody> = {},
): Promise<FakeLlmServer<ChatCompletionsRequestBody>> {
  return startFakeLlmServer(openaiProtocol(), script);
}
