/**
 * A loopback OpenAI embeddings server (`POST /v1/embeddings`) for tests and benchmarks. It checks
 * what the real API checks (bearer key, model, input shape, `dimensions`, `encoding_format`),
 * answers in the real response shape with `usage`, and returns deterministic vectors: a hashed
 * bag of words and character bigrams, so texts that share words get similar vectors. Latency and
 * failures (429/5xx with `Retry-After`) can be injected; `stats` records calls and the highest
 * number of requests in flight at once.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface InjectedFailure {
  status: number;
  /** How many of the next requests fail this way. */
  count: number;
  /** Sent as `Retry-After` (seconds). */
  retryAfterSeconds?: number;
  /** OpenAI error `code`, e.g. `rate_limit_exceeded` or `insufficient_quota`. */
  code?: string;
}

export interface FakeOpenAIEmbeddingsOptions {
  /** The only key accepted. Default `test-openai-key`. */
  apiKey?: string;
  /** Size of vectors when the request sends no `dimensions`. Default 64. */
  dimensions?: number;
  /** Delay before every answer, failures included. Default 0. */
  latencyMs?: number;
  /** Models the server knows; others get 404 `model_not_found`. Default: any. */
  models?: string[];
  failures?: InjectedFailure[];
}

export interface FakeEmbeddingStats {
  /** Requests received on the embeddings route, failed ones included. */
  calls: number;
  /** Requests answered with vectors. */
  succeeded: number;
  /** Texts embedded by successful requests. */
  inputs: number;
  inFlight: number;
  maxInFlight: number;
  /** Number of texts in each successful request, in arrival order. */
  batchSizes: number[];
  /** Every successful request's inputs, in arrival order. */
  inputsSeen: string[];
  /** The `dimensions` field of each successful request (undefined when not sent). */
  dimensionsSent: (number | undefined)[];
}

/** Counters back at zero (in-flight requests are still counted: `maxInFlight` starts from them). */
export function clearedStats(inFlight = 0): FakeEmbeddingStats {
  return {
    calls: 0,
    succeeded: 0,
    inputs: 0,
    inFlight,
    maxInFlight: inFlight,
    batchSizes: [],
    inputsSeen: [],
    dimensionsSent: [],
  };
}

export interface FakeOpenAIEmbeddings {
  /** Base URL including `/v1`, as `OPENAI_BASE_URL` takes it. */
  url: string;
  apiKey: string;
  stats: FakeEmbeddingStats;
  /** Makes the next `count` requests fail with `status`. */
  failNext(failure: InjectedFailure): void;
  setLatency(ms: number): void;
  /** Zeroes the counters (requests in flight stay counted). */
  resetStats(): void;
  close(): Promise<void>;
}

export async function startFakeOpenAIEmbeddings(
  options: FakeOpenAIEmbeddingsOptions = {},
): Promise<FakeOpenAIEmbeddings> {
  const apiKey = options.apiKey ?? 'test-openai-key';
  const nativeDimensions = options.dimensions ?? 64;
  let latencyMs = options.latencyMs ?? 0;
  const failures: InjectedFailure[] = (options.failures ?? []).map((f) => ({ ...f }));
  const stats = clearedStats();

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => sendError(res, 500, String(error), 'server_error', 'internal'));
  });

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const body = await readBody(req);
    const path = new URL(req.url ?? '/', 'http://fake').pathname;
    if (req.method !== 'POST' || path !== '/v1/embeddings') {
      return sendError(res, 404, `Unknown request URL: ${req.method} ${path}.`, 'invalid_request_error', 'unknown_url');
    }
    stats.calls++;
    stats.inFlight++;
    stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
    try {
      if (latencyMs > 0) await new Promise((r) => setTimeout(r, latencyMs));
      if (res.destroyed) return;
      answer(req, res, body);
    } finally {
      stats.inFlight--;
    }
  }

  function answer(req: IncomingMessage, res: ServerResponse, body: string) {
    if (req.headers.authorization !== `Bearer ${apiKey}`) {
      return sendError(res, 401, 'Incorrect API key provided.', 'invalid_request_error', 'invalid_api_key');
    }
    const failure = failures[0];
    if (failure) {
      if (--failure.count <= 0) failures.shift();
      const headers: Record<string, string> =
        failure.retryAfterSeconds === undefined ? {} : { 'retry-after': String(failure.retryAfterSeconds) };
      const type = failure.status === 429 ? 'requests' : 'server_error';
      return sendError(res, failure.status, `Injected failure ${failure.status}`, type, failure.code ?? null, headers);
    }
    if (req.headers['content-type']?.split(';')[0] !== 'application/json') {
      return sendError(res, 400, 'Content-Type must be application/json', 'invalid_request_error', null);
    }
    let request: Record<string, unknown>;
    try {
      request = JSON.parse(body) as Record<string, unknown>;
    } catch {
      return sendError(res, 400, 'We could not parse the JSON body of your request.', 'invalid_request_error', null);
    }
    const { model, input, dimensions, encoding_format: encodingFormat } = request;
    if (typeof model !== 'string' || model === '') {
      return sendError(res, 400, 'you must provide a model parameter', 'invalid_request_error', null);
    }
    if (options.models && !options.models.includes(model)) {
      return sendError(res, 404, `The model \`${model}\` does not exist`, 'invalid_request_error', 'model_not_found');
    }
    const inputs = typeof input === 'string' ? [input] : input;
    if (!Array.isArray(inputs) || inputs.length === 0 || inputs.length > 2048) {
      return sendError(res, 400, "'$.input' is invalid.", 'invalid_request_error', null);
    }
    if (!inputs.every((t): t is string => typeof t === 'string' && t.length > 0)) {
      return sendError(
        res,
        400,
        "'$.input' is invalid. Every input must be a non-empty string.",
        'invalid_request_error',
        null,
      );
    }
    if (
      dimensions !== undefined &&
      (!Number.isInteger(dimensions) || (dimensions as number) < 1 || (dimensions as number) > 4096)
    ) {
      return sendError(
        res,
        400,
        `Invalid value for 'dimensions': ${String(dimensions)}`,
        'invalid_request_error',
        null,
      );
    }
    if (encodingFormat !== undefined && encodingFormat !== 'float' && encodingFormat !== 'base64') {
      return sendError(res, 400, "'encoding_format' must be 'float' or 'base64'", 'invalid_request_error', null);
    }
    const size = (dimensions as number | undefined) ?? nativeDimensions;
    stats.succeeded++;
    stats.inputs += inputs.length;
    stats.batchSizes.push(inputs.length);
    stats.inputsSeen.push(...inputs);
    stats.dimensionsSent.push(dimensions as number | undefined);
    const tokens = inputs.reduce((n, t) => n + countTokens(t), 0);
    sendJson(res, 200, {
      object: 'list',
      data: inputs.map((text, index) => {
        const vector = fakeEmbedding(text, size);
        return {
          object: 'embedding',
          index,
          embedding:
            encodingFormat === 'base64' ? Buffer.from(Float32Array.from(vector).buffer).toString('base64') : vector,
        };
      }),
      model,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    apiKey,
    stats,
    failNext(failure) {
      failures.push({ ...failure });
    },
    setLatency(ms) {
      latencyMs = ms;
    },
    resetStats() {
      Object.assign(stats, clearedStats(stats.inFlight));
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * The deterministic vector the fakes return for `text`: words and the character bigrams inside
 * them hashed into `dimensions` signed buckets, L2-normalised. Shared texts → similar vectors.
 */
export function fakeEmbedding(text: string, dimensions: number, normalize = true): number[] {
  const vector = new Array<number>(dimensions).fill(0);
  const add = (feature: string, weight: number) => {
    const h = fnv1a(feature);
    vector[h % dimensions]! += (h & 1) === 0 ? weight : -weight;
  };
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  for (const word of words) {
    add(`w:${word}`, 1);
    for (let i = 0; i + 1 < word.length; i++) add(`b:${word.slice(i, i + 2)}`, 0.5);
  }
  if (words.length === 0) add(`t:${text}`, 1);
  if (!normalize) return vector;
  const norm = Math.hypot(...vector) || 1;
  // Float32 values, as real embeddings are: the same numbers whether sent as JSON or base64.
  return vector.map((v) => Math.fround(v / norm));
}

/** A rough token count for `usage`: words and punctuation marks. */
export function countTokens(text: string): number {
  return (text.match(/[\p{L}\p{N}]+|[^\s\p{L}\p{N}]/gu) ?? []).length;
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  if (res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function sendError(
  res: ServerResponse,
  status: number,
  message: string,
  type: string,
  code: string | null,
  headers: Record<string, string> = {},
) {
  sendJson(res, status, { error: { message, type, param: null, code } }, headers);
}
