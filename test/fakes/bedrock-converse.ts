/**
 * A loopback Amazon Bedrock runtime for the Converse API: `POST /model/{modelId}/converse` (JSON)
 * and `POST /model/{modelId}/converse-stream` (AWS event-stream binary framing with messageStart,
 * contentBlockDelta, contentBlockStop, messageStop and metadata events). Every request must carry
 * a valid SigV4 signature (service `bedrock`) made with the fake's credentials, which the fake
 * recomputes. Errors use Bedrock's shape (`x-amzn-errortype` + `{"message"}`). Scripted like the
 * other fakes; `apiKey` in the script is the secret access key.
 */
import { createHash, createHmac } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { EventStreamCodec } from '@smithy/eventstream-codec';
import {
  contentText,
  type FakeLlmScript,
  type FakeLlmServer,
  type FakeProtocol,
  type ParsedRequest,
  randomId,
  startFakeLlmServer,
} from './anthropic.ts';

export interface ConverseRequestBody {
  messages: { role: string; content: { text?: string }[] }[];
  system?: { text?: string }[];
  inferenceConfig?: { maxTokens?: number; temperature?: number };
}

/** Credentials the fake accepts unless told otherwise; pass them to the provider under test. */
export const FAKE_AWS_CREDENTIALS = {
  accessKeyId: 'AKIDFAKEBEDROCK00001',
  secretAccessKey: 'test-key',
} as const;

const BEDROCK_ERRORS: Record<number, [type: string, message: string]> = {
  400: ['ValidationException', 'Malformed input request, please reformat your input and try again.'],
  403: ['AccessDeniedException', 'You don’t have access to the model with the specified model ID.'],
  404: ['ResourceNotFoundException', 'Could not resolve the foundation model from the provided model identifier.'],
  408: ['ModelTimeoutException', 'Model has timed out in processing the request.'],
  424: ['ModelErrorException', 'The model returned an error.'],
  429: ['ThrottlingException', 'Too many requests, please wait before trying again.'],
  500: ['InternalServerException', 'The server encountered an internal error.'],
  503: ['ServiceUnavailableException', 'Service unavailable. Try your request again.'],
};

const utf8 = new TextEncoder();
const codec = new EventStreamCodec(
  (bytes) => Buffer.from(bytes).toString('utf8'),
  (text) => utf8.encode(text),
);

/** One event-stream frame, as Bedrock sends them (with its `p` padding field). */
function frame(kind: 'event' | 'exception', type: string, payload: Record<string, unknown>): Uint8Array {
  return codec.encode({
    headers: {
      ':event-type': { type: 'string', value: type },
      ...(kind === 'exception' ? { ':exception-type': { type: 'string', value: type } } : {}),
      ':content-type': { type: 'string', value: 'application/json' },
      ':message-type': { type: 'string', value: kind },
    },
    body: utf8.encode(JSON.stringify({ ...payload, p: 'abcdefghijklmnopqrstuvwxyzABCDEF' })),
  });
}

const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();
const sha256 = (data: string) => createHash('sha256').update(data).digest('hex');
const rfc3986 = (s: string) => s.replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** Recomputes the SigV4 signature of a request; returns a problem, or undefined when valid. */
export function checkSigV4(
  method: string,
  path: string,
  headers: IncomingHttpHeaders,
  rawBody: string,
  credentials: { accessKeyId: string; secretAccessKey: string },
  region: string,
): string | undefined {
  const auth = headers.authorization;
  const match = auth?.match(
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/,
  );
  if (!match) return 'Authorization header is missing or not SigV4';
  const [, keyId, date, scopeRegion, service, signedHeaders, signature] = match as unknown as string[];
  if (keyId !== credentials.accessKeyId) return 'The security token included in the request is invalid.';
  if (service !== 'bedrock' || scopeRegion !== region) return `Credential should be scoped to ${region}/bedrock`;
  const amzDate = String(headers['x-amz-date'] ?? '');
  if (!amzDate.startsWith(date ?? '-')) return 'x-amz-date does not match the credential scope';
  const [url, query = ''] = path.split('?');
  const canonicalPath = rfc3986(encodeURIComponent((url ?? '/').replace(/\/+/g, '/')).replace(/%2F/g, '/'));
  const canonicalQuery = [...new URLSearchParams(query)]
    .map(([k, v]) => `${rfc3986(encodeURIComponent(k))}=${rfc3986(encodeURIComponent(v))}`)
    .sort()
    .join('&');
  const names = (signedHeaders ?? '').split(';');
  const canonicalHeaders = names
    .map((name) => `${name}:${String(headers[name] ?? '').replace(/\s+/g, ' ')}\n`)
    .join('');
  const payloadHash = String(headers['x-amz-content-sha256'] ?? sha256(rawBody));
  const canonical = [method, canonicalPath, canonicalQuery, canonicalHeaders, signedHeaders, payloadHash].join('\n');
  const scope = `${date}/${region}/bedrock/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  let key = hmac(`AWS4${credentials.secretAccessKey}`, date ?? '');
  for (const part of [region, 'bedrock', 'aws4_request']) key = hmac(key, part);
  const expected = createHmac('sha256', key).update(toSign).digest('hex');
  return expected === signature
    ? undefined
    : 'The request signature we calculated does not match the signature you provided.';
}

function bedrockProtocol(region: string, accessKeyId: string): FakeProtocol<ConverseRequestBody> {
  return {
    defaultFailStatus: 429,

    parse(method, path, headers, body, secretAccessKey, rawBody): ParsedRequest<ConverseRequestBody> {
      const route = path.split('?')[0]?.match(/^\/model\/([^/]+)\/(converse|converse-stream)$/);
      if (method !== 'POST' || !route) return { ok: false, status: 404, message: `Unknown operation ${path}` };
      const problem = checkSigV4(method, path, headers, rawBody, { accessKeyId, secretAccessKey }, region);
      if (problem) return { ok: false, status: 403, message: problem };
      const b = body as Partial<ConverseRequestBody> | undefined;
      if (!b || !Array.isArray(b.messages) || b.messages.length === 0) {
        return { ok: false, status: 400, message: 'A conversation must start with a user message.' };
      }
      const lastUser = b.messages.findLast((m) => m.role === 'user');
      return {
        ok: true,
        maxTokens: b.inferenceConfig?.maxTokens,
        request: {
          method,
          path,
          headers,
          body: b as ConverseRequestBody,
          model: decodeURIComponent(route[1] ?? ''),
          stream: route[2] === 'converse-stream',
          system: contentText(b.system),
          prompt: contentText(lastUser?.content),
        },
      };
    },

    error(status, message, retryAfterSeconds) {
      const [type, defaultMessage] = BEDROCK_ERRORS[status] ?? ['InternalServerException', 'Internal error'];
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'x-amzn-requestid': randomId('', 16),
        'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/`,
      };
      if (retryAfterSeconds !== undefined) headers['retry-after'] = String(retryAfterSeconds);
      return { status, headers, body: JSON.stringify({ message: message ?? defaultMessage }) };
    },

    json(plan) {
      return {
        status: 200,
        headers: { 'content-type': 'application/json', 'x-amzn-requestid': randomId('', 16) },
        body: JSON.stringify({
          output: { message: { role: 'assistant', content: [{ text: plan.text }] } },
          stopReason: plan.truncated ? 'max_tokens' : 'end_turn',
          usage: {
            inputTokens: plan.usage.inputTokens,
            outputTokens: plan.usage.outputTokens,
            totalTokens: plan.usage.inputTokens + plan.usage.outputTokens,
          },
          metrics: { latencyMs: 1 },
        }),
      };
    },

    streamHeaders() {
      return { 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-requestid': randomId('', 16) };
    },

    streamStart() {
      return frame('event', 'messageStart', { role: 'assistant' });
    },

    streamDelta(piece) {
      return frame('event', 'contentBlockDelta', { contentBlockIndex: 0, delta: { text: piece } });
    },

    streamEnd(plan) {
      return Buffer.concat([
        frame('event', 'contentBlockStop', { contentBlockIndex: 0 }),
        frame('event', 'messageStop', { stopReason: plan.truncated ? 'max_tokens' : 'end_turn' }),
        frame('event', 'metadata', {
          usage: {
            inputTokens: plan.usage.inputTokens,
            outputTokens: plan.usage.outputTokens,
            totalTokens: plan.usage.inputTokens + plan.usage.outputTokens,
          },
          metrics: { latencyMs: 1 },
        }),
      ]);
    },

    streamError() {
      return frame('exception', 'modelStreamErrorException', {
        message: 'The model stream was interrupted.',
        originalStatusCode: 500,
      });
    },
  };
}

/**
 * Starts a fake Bedrock runtime; point `AWS_ENDPOINT_URL_BEDROCK_RUNTIME` at its `url` and sign
 * with `FAKE_AWS_CREDENTIALS` (region `us-east-1` unless `region` is given).
 */
export function startFakeBedrock(
  script: FakeLlmScript<ConverseRequestBody> = {},
  options: { region?: string; accessKeyId?: string } = {},
): Promise<FakeLlmServer<ConverseRequestBody>> {
  return startFakeLlmServer(
    bedrockProtocol(options.region ?? 'us-east-1', options.accessKeyId ?? FAKE_AWS_CREDENTIALS.accessKeyId),
    script,
  );
}
