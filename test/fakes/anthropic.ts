/**
 * A loopback Anthropic Messages API (`POST /v1/messages`) for tests and benchmarks: JSON replies,
 * `stream: true` Server-Sent Events exactly as Anthropic sends them, and Anthropic's error JSON
 * (429 rate_limit_error, 529 overloaded_error, ...). It is scriptable: reply text (or a function
 * of the request), delays, fail N times, hang, stall or fail mid-stream; it records every request.
 *
 * The scripting core (`startFakeLlmServer`) is shared by the OpenAI and Bedrock fakes.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

// ---------------------------------------------------------------------------------------------
// Shared scripting core
// ---------------------------------------------------------------------------------------------

export interface RecordedRequest<B> {
  method: string;
  /** Path as received, e.g. `/v1/messages` or `/model/anthropic.claude%3A0/converse-stream`. */
  path: string;
  headers: IncomingHttpHeaders;
  body: B;
  /** Model id the request named (from the body, or the Bedrock path). */
  model: string;
  stream: boolean;
  /** System prompt text as the fake read it. */
  system: string;
  /** Text of the last user message, so a reply function can echo the prompt it got. */
  prompt: string;
}

export interface FakeUsage {
  inputTokens: number;
  outputTokens: number;
}

/** What the fake does with the next request. Mutable: tests may change it between calls. */
export interface FakeLlmScript<B> {
  /** The reply, or a function of the request. Default `Hello from the fake model.` */
  reply?: string | ((request: RecordedRequest<B>) => string);
  /** Split the reply into chunks of this many characters; default: one word (with its spaces) a chunk. */
  chunkChars?: number;
  /** Wait before the first text chunk (streaming) or before the JSON reply. */
  firstTokenDelayMs?: number;
  /** Wait between text chunks (a JSON reply waits for all of them too). */
  tokenDelayMs?: number;
  /** The next N requests fail with `failStatus`; counts down as they are served. */
  failTimes?: number;
  /** Status of scripted failures; default 529 (Anthropic), 429 (OpenAI, Bedrock). */
  failStatus?: number;
  /** Sent as `retry-after` (seconds) with scripted failures. */
  retryAfterSeconds?: number;
  /** Accept the request and never answer (not even headers). */
  hang?: boolean;
  /** Stream this many text chunks, then stay silent with the connection open. */
  stallAfterChunks?: number;
  /** Stream this many text chunks, then send the protocol's mid-stream error. */
  failAfterChunks?: number;
  /** Reported usage; default input = prompt characters / 4, output = number of chunks. */
  usage?: FakeUsage;
  /** The only credential accepted (API key; Bedrock: the secret access key). */
  apiKey?: string;
}

export interface FakeLlmServer<B> {
  /** Origin of the server, e.g. `http://127.0.0.1:41234` (no path). */
  url: string;
  requests: RecordedRequest<B>[];
  script: FakeLlmScript<B>;
  close(): Promise<void>;
}

/** A reply as the protocol writers see it. */
export interface ReplyPlan {
  id: string;
  model: string;
  pieces: string[];
  text: string;
  usage: FakeUsage;
  /** True when the reply was cut at the request's max tokens. */
  truncated: boolean;
}

export type ParsedRequest<B> =
  | { ok: true; request: RecordedRequest<B>; maxTokens: number | undefined }
  | { ok: false; status: number; message: string };

export interface HttpReply {
  status: number;
  headers: Record<string, string>;
  body: string | Uint8Array;
}

/** The wire-format half of a fake: everything that differs between providers. */
export interface FakeProtocol<B> {
  defaultFailStatus: number;
  parse(
    method: string,
    path: string,
    headers: IncomingHttpHeaders,
    body: unknown,
    apiKey: string,
    rawBody: string,
  ): ParsedRequest<B>;
  error(status: number, message: string | undefined, retryAfterSeconds: number | undefined): HttpReply;
  json(plan: ReplyPlan, request: RecordedRequest<B>): HttpReply;
  streamHeaders(plan: ReplyPlan): Record<string, string>;
  streamStart(plan: ReplyPlan, request: RecordedRequest<B>): string | Uint8Array;
  streamDelta(piece: string, plan: ReplyPlan, request: RecordedRequest<B>): string | Uint8Array;
  streamEnd(plan: ReplyPlan, request: RecordedRequest<B>): string | Uint8Array;
  streamError(): string | Uint8Array;
}

export const DEFAULT_FAKE_REPLY = 'Hello from the fake model.';

/** Text of a message content that is a string or a list of `{ text }` blocks. */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((block: unknown) =>
      block && typeof block === 'object' && 'text' in block && typeof block.text === 'string' ? block.text : '',
    )
    .join('');
}

export function randomId(prefix: string, bytes = 12): string {
  return `${prefix}${randomBytes(bytes).toString('hex')}`;
}

function splitReply(text: string, chunkChars: number | undefined): string[] {
  if (chunkChars && chunkChars > 0) {
    const pieces: string[] = [];
    for (let i = 0; i < text.length; i += chunkChars) pieces.push(text.slice(i, i + chunkChars));
    return pieces;
  }
  return text.match(/^\s+|\S+\s*/g) ?? [];
}

function planReply<B>(script: FakeLlmScript<B>, request: RecordedRequest<B>, maxTokens: number | undefined): ReplyPlan {
  const text = typeof script.reply === 'function' ? script.reply(request) : (script.reply ?? DEFAULT_FAKE_REPLY);
  let pieces = splitReply(text, script.chunkChars);
  const truncated = maxTokens !== undefined && pieces.length > maxTokens;
  if (truncated) pieces = pieces.slice(0, maxTokens);
  const usage = script.usage ?? {
    inputTokens: Math.max(1, Math.ceil((request.system.length + JSON.stringify(request.body).length) / 4)),
    outputTokens: pieces.length,
  };
  return { id: randomBytes(12).toString('hex'), model: request.model, pieces, text: pieces.join(''), usage, truncated };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, reply: HttpReply): void {
  res.writeHead(reply.status, reply.headers);
  res.end(reply.body);
}

/**
 * Starts a loopback server that speaks `protocol` and follows `script`. Cheap per stream: one
 * async function and one timer at a time; with no delays a whole stream is one write.
 */
export async function startFakeLlmServer<B>(
  protocol: FakeProtocol<B>,
  script: FakeLlmScript<B>,
): Promise<FakeLlmServer<B>> {
  const requests: RecordedRequest<B>[] = [];
  const closing = new AbortController();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    let body: unknown;
    try {
      body = raw === '' ? undefined : JSON.parse(raw);
    } catch {
      send(res, protocol.error(400, 'The request body is not valid JSON.', undefined));
      return;
    }
    const method = req.method ?? 'GET';
    const parsed = protocol.parse(method, req.url ?? '/', req.headers, body, script.apiKey ?? 'test-key', raw);
    if (!parsed.ok) {
      send(res, protocol.error(parsed.status, parsed.message, undefined));
      return;
    }
    const request = parsed.request;
    requests.push(request);

    if (script.hang) return; // the socket stays open until the client gives up or the server closes
    if ((script.failTimes ?? 0) > 0) {
      script.failTimes = (script.failTimes ?? 0) - 1;
      send(res, protocol.error(script.failStatus ?? protocol.defaultFailStatus, undefined, script.retryAfterSeconds));
      return;
    }

    const plan = planReply(script, request, parsed.maxTokens);
    const signal = AbortSignal.any([closing.signal, abortedWhenClosed(res)]);
    const firstDelay = script.firstTokenDelayMs ?? 0;
    const tokenDelay = script.tokenDelayMs ?? 0;

    if (!request.stream) {
      const wait = firstDelay + tokenDelay * Math.max(0, plan.pieces.length - 1);
      if (wait > 0) await sleep(wait, undefined, { signal });
      send(res, protocol.json(plan, request));
      return;
    }

    res.writeHead(200, protocol.streamHeaders(plan));
    // Frames wait in `pending` until the next pause, so a stream without delays is one write.
    const pending: (string | Uint8Array)[] = [protocol.streamStart(plan, request)];
    const flush = () => {
      if (pending.length > 0) res.write(joinFrames(pending.splice(0)));
    };
    const stallAt = script.stallAfterChunks;
    const failAt = script.failAfterChunks;
    for (let i = 0; i <= plan.pieces.length; i++) {
      if (stallAt !== undefined && Math.min(stallAt, plan.pieces.length) === i) {
        flush();
        return;
      }
      if (failAt !== undefined && Math.min(failAt, plan.pieces.length) === i) {
        pending.push(protocol.streamError());
        res.end(joinFrames(pending));
        return;
      }
      if (i === plan.pieces.length) break;
      const wait = i === 0 ? firstDelay : tokenDelay;
      if (wait > 0) {
        flush();
        await sleep(wait, undefined, { signal });
      }
      pending.push(protocol.streamDelta(plan.pieces[i] ?? '', plan, request));
    }
    pending.push(protocol.streamEnd(plan, request));
    res.end(joinFrames(pending));
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (isAbort(error)) {
        res.destroy();
        return;
      }
      if (!res.headersSent) send(res, protocol.error(500, `fake server error: ${String(error)}`, undefined));
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    script,
    close: () =>
      new Promise<void>((resolve) => {
        closing.abort();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function joinFrames(frames: (string | Uint8Array)[]): string | Uint8Array {
  if (frames.every((f) => typeof f === 'string')) return frames.join('');
  return Buffer.concat(frames.map((f) => (typeof f === 'string' ? Buffer.from(f) : f)));
}

function abortedWhenClosed(res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  res.once('close', () => controller.abort());
  return controller.signal;
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}

// ---------------------------------------------------------------------------------------------
// Anthropic Messages API
// ---------------------------------------------------------------------------------------------

type AnthropicBlock = { type: string; text?: string };

export interface AnthropicRequestBody {
  model: string;
  max_tokens: number;
  messages: { role: string; content: string | AnthropicBlock[] }[];
  system?: string | AnthropicBlock[];
  temperature?: number;
  stream?: boolean;
}

const ANTHROPIC_ERRORS: Record<number, [type: string, message: string]> = {
  400: ['invalid_request_error', 'Invalid request.'],
  401: ['authentication_error', 'invalid x-api-key'],
  403: ['permission_error', 'Your API key does not have permission to use the specified resource.'],
  404: ['not_found_error', 'The requested resource could not be found.'],
  413: ['request_too_large', 'Request exceeds the maximum allowed number of bytes.'],
  429: ['rate_limit_error', 'Number of request tokens has exceeded your per-minute rate limit.'],
  500: ['api_error', 'An unexpected error has occurred internal to Anthropic’s systems.'],
  529: ['overloaded_error', 'Overloaded'],
};

const sse = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

const anthropicProtocol: FakeProtocol<AnthropicRequestBody> = {
  defaultFailStatus: 529,

  parse(method, path, headers, body, apiKey) {
    if (method !== 'POST' || path.split('?')[0] !== '/v1/messages') {
      return { ok: false, status: 404, message: `Not found: ${method} ${path}` };
    }
    if (headers['x-api-key'] !== apiKey) return { ok: false, status: 401, message: 'invalid x-api-key' };
    if (!headers['anthropic-version']) {
      return { ok: false, status: 400, message: 'anthropic-version: header is required' };
    }
    const b = body as Partial<AnthropicRequestBody> | undefined;
    if (!b || typeof b.model !== 'string') return { ok: false, status: 400, message: 'model: Field required' };
    if (typeof b.max_tokens !== 'number' || b.max_tokens < 1) {
      return { ok: false, status: 400, message: 'max_tokens: Field required' };
    }
    if (!Array.isArray(b.messages) || b.messages.length === 0) {
      return { ok: false, status: 400, message: 'messages: at least one message is required' };
    }
    const lastUser = b.messages.findLast((m) => m.role === 'user');
    return {
      ok: true,
      maxTokens: b.max_tokens,
      request: {
        method,
        path,
        headers,
        body: b as AnthropicRequestBody,
        model: b.model,
        stream: b.stream === true,
        system: contentText(b.system),
        prompt: contentText(lastUser?.content),
      },
    };
  },

  error(status, message, retryAfterSeconds) {
    const [type, defaultMessage] = ANTHROPIC_ERRORS[status] ?? ['api_error', 'Internal server error'];
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'request-id': randomId('req_'),
      'x-should-retry': String(status === 429 || status >= 500),
    };
    if (retryAfterSeconds !== undefined) headers['retry-after'] = String(retryAfterSeconds);
    return {
      status,
      headers,
      body: JSON.stringify({ type: 'error', error: { type, message: message ?? defaultMessage } }),
    };
  },

  json(plan) {
    return {
      status: 200,
      headers: { 'content-type': 'application/json', 'request-id': randomId('req_') },
      body: JSON.stringify({
        id: `msg_${plan.id}`,
        type: 'message',
        role: 'assistant',
        model: plan.model,
        content: [{ type: 'text', text: plan.text }],
        stop_reason: plan.truncated ? 'max_tokens' : 'end_turn',
        stop_sequence: null,
        usage: {
          input_tokens: plan.usage.inputTokens,
          cache_creation_input_tokens: 0,
          cache_read_input_tokens: 0,
          output_tokens: plan.usage.outputTokens,
        },
      }),
    };
  },

  streamHeaders() {
    return {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'request-id': randomId('req_'),
    };
  },

  streamStart(plan) {
    return (
      sse('message_start', {
        type: 'message_start',
        message: {
          id: `msg_${plan.id}`,
          type: 'message',
          role: 'assistant',
          model: plan.model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: {
            input_tokens: plan.usage.inputTokens,
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: 0,
            output_tokens: 1,
          },
        },
      }) +
      sse('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }) +
      sse('ping', { type: 'ping' })
    );
  },

  streamDelta(piece) {
    return sse('content_block_delta', {
      type: 'content_block_delta',
      index: 0,
      delta: { type: 'text_delta', text: piece },
    });
  },

  streamEnd(plan) {
    return (
      sse('content_block_stop', { type: 'content_block_stop', index: 0 }) +
      sse('message_delta', {
        type: 'message_delta',
        delta: { stop_reason: plan.truncated ? 'max_tokens' : 'end_turn', stop_sequence: null },
        usage: { output_tokens: plan.usage.outputTokens },
      }) +
      sse('message_stop', { type: 'message_stop' })
    );
  },

  streamError() {
    return sse('error', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
  },
};

/** Starts a fake Anthropic API; point `ANTHROPIC_BASE_URL` at its `url`. Accepts key `test-key` by default. */
export function startFakeAnthropic(
  script: FakeLlmScript<AnthropicRequestBody> = {},
): Promise<FakeLlmServer<AnthropicRequestBody>> {
  return startFakeLlmServer(anthropicProtocol, script);
}
