/**
 * A loopback Amazon Bedrock runtime for tests and benchmarks: `POST /model/{modelId}/invoke` for
 * Titan Text Embeddings (v2 body `{inputText, dimensions, normalize}`, v1 body `{inputText}`),
 * answering in Titan's shape. Every request's SigV4 `Authorization` header is verified for real:
 * the signature is recomputed here, independently of the SDK, with the fake's known secret, and a
 * mismatch answers 403 `InvalidSignatureException` as AWS does. Latency and errors (throttling,
 * 5xx) can be injected; `stats` records calls and the highest number in flight at once.
 */
import { createHash, createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { clearedStats, countTokens, type FakeEmbeddingStats, fakeEmbedding } from './openai-embeddings.ts';

export interface AwsTestCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface InjectedBedrockFailure {
  /** 429 → ThrottlingException, 500 → InternalServerException, 503 → ServiceUnavailableException, 400 → ValidationException. */
  status: 400 | 408 | 429 | 500 | 503;
  count: number;
}

export interface FakeBedrockRuntimeOptions {
  credentials?: AwsTestCredentials;
  region?: string;
  latencyMs?: number;
  failures?: InjectedBedrockFailure[];
}

export interface FakeBedrockRuntime {
  /** Endpoint URL, as `AWS_ENDPOINT_URL_BEDROCK_RUNTIME` takes it. */
  url: string;
  region: string;
  /** The only credentials whose signatures verify. */
  credentials: AwsTestCredentials;
  stats: FakeEmbeddingStats & {
    /** Requests rejected because the signature, key or date did not verify. */
    authFailures: number;
    /** Model id of each successful call. */
    models: string[];
    /** Parsed body of each successful call. */
    bodies: Record<string, unknown>[];
  };
  failNext(failure: InjectedBedrockFailure): void;
  setLatency(ms: number): void;
  /** Zeroes the counters (requests in flight stay counted). */
  resetStats(): void;
  close(): Promise<void>;
}

const TITAN_V2 = 'amazon.titan-embed-text-v2:0';
const TITAN_V1 = 'amazon.titan-embed-text-v1';
const ERROR_TYPES: Record<number, string> = {
  400: 'ValidationException',
  403: 'AccessDeniedException',
  404: 'ResourceNotFoundException',
  408: 'ModelTimeoutException',
  429: 'ThrottlingException',
  500: 'InternalServerException',
  503: 'ServiceUnavailableException',
};

export async function startFakeBedrockRuntime(options: FakeBedrockRuntimeOptions = {}): Promise<FakeBedrockRuntime> {
  const credentials = options.credentials ?? {
    accessKeyId: 'AKIDFAKEBEDROCKTEST',
    secretAccessKey: 'fake-bedrock-secret-key-for-tests',
  };
  const region = options.region ?? 'us-east-1';
  let latencyMs = options.latencyMs ?? 0;
  const failures = (options.failures ?? []).map((f) => ({ ...f }));
  const stats: FakeBedrockRuntime['stats'] = { ...clearedStats(), authFailures: 0, models: [], bodies: [] };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => sendError(res, 500, 'InternalServerException', String(error)));
  });

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const body = await readBody(req);
    stats.calls++;
    stats.inFlight++;
    stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
    try {
      if (latencyMs > 0) await new Promise((r) => setTimeout(r, latencyMs));
      const problem = verifySigV4(req, body, { credentials, region, service: 'bedrock' });
      if (problem) {
        stats.authFailures++;
        return sendError(res, 403, problem.type, problem.message);
      }
      const match = /^\/model\/([^/]+)\/invoke$/.exec(new URL(req.url ?? '/', 'http://fake').pathname);
      if (req.method !== 'POST' || !match) return sendError(res, 404, 'UnknownOperationException', 'Unknown operation');
      const failure = failures[0];
      if (failure) {
        if (--failure.count <= 0) failures.shift();
        return sendError(res, failure.status, ERROR_TYPES[failure.status]!, `Injected failure ${failure.status}`);
      }
      invokeTitan(res, decodeURIComponent(match[1]!), body);
    } finally {
      stats.inFlight--;
    }
  }

  function invokeTitan(res: ServerResponse, modelId: string, body: string) {
    if (modelId !== TITAN_V2 && modelId !== TITAN_V1) {
      return sendError(res, 400, 'ValidationException', 'The provided model identifier is invalid.');
    }
    let request: Record<string, unknown>;
    try {
      request = JSON.parse(body) as Record<string, unknown>;
    } catch {
      return sendError(
        res,
        400,
        'ValidationException',
        'Malformed input request, please reformat your input and try again.',
      );
    }
    const { inputText, dimensions, normalize } = request;
    const allowed = modelId === TITAN_V2 ? ['inputText', 'dimensions', 'normalize', 'embeddingTypes'] : ['inputText'];
    const extra = Object.keys(request).filter((k) => !allowed.includes(k));
    if (extra.length > 0) {
      return sendError(
        res,
        400,
        'ValidationException',
        `Malformed input request: extraneous key [${extra[0]}] is not permitted`,
      );
    }
    if (typeof inputText !== 'string' || inputText.length === 0) {
      return sendError(res, 400, 'ValidationException', 'Malformed input request: expected minLength: 1, actual: 0');
    }
    if (dimensions !== undefined && dimensions !== 256 && dimensions !== 512 && dimensions !== 1024) {
      return sendError(
        res,
        400,
        'ValidationException',
        `Malformed input request: ${String(dimensions)} is not a valid enum value`,
      );
    }
    if (normalize !== undefined && typeof normalize !== 'boolean') {
      return sendError(res, 400, 'ValidationException', 'Malformed input request: normalize: expected type: Boolean');
    }
    const size = modelId === TITAN_V1 ? 1536 : ((dimensions as number | undefined) ?? 1024);
    const embedding = fakeEmbedding(inputText, size, modelId === TITAN_V1 ? false : (normalize ?? true) !== false);
    const tokens = countTokens(inputText);
    stats.succeeded++;
    stats.inputs++;
    stats.batchSizes.push(1);
    stats.inputsSeen.push(inputText);
    stats.dimensionsSent.push(dimensions as number | undefined);
    stats.models.push(modelId);
    stats.bodies.push(request);
    const response =
      modelId === TITAN_V2
        ? { embedding, embeddingsByType: { float: embedding }, inputTextTokenCount: tokens }
        : { embedding, inputTextTokenCount: tokens };
    sendJson(res, 200, response, { 'x-amzn-bedrock-input-token-count': String(tokens) });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    region,
    credentials,
    stats,
    failNext(failure) {
      failures.push({ ...failure });
    },
    setLatency(ms) {
      latencyMs = ms;
    },
    resetStats() {
      Object.assign(stats, clearedStats(stats.inFlight), { authFailures: 0, models: [], bodies: [] });
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Verifies an AWS Signature Version 4 `Authorization` header the way AWS does: rebuilds the
 * canonical request from what arrived on the wire, derives the signing key from the known secret
 * and compares signatures. Returns the AWS error to answer, or undefined when the request verifies.
 */
export function verifySigV4(
  req: IncomingMessage,
  body: string,
  expected: { credentials: AwsTestCredentials; region: string; service: string; maxSkewMs?: number },
): { type: string; message: string } | undefined {
  const auth = req.headers.authorization ?? '';
  const parsed =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(
      auth,
    );
  if (!parsed) return { type: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' };
  const [, accessKeyId, date, region, service, signedHeaderList, signature] = parsed as unknown as string[];
  if (accessKeyId !== expected.credentials.accessKeyId) {
    return { type: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' };
  }
  if (region !== expected.region || service !== expected.service) {
    return {
      type: 'InvalidSignatureException',
      message: `Credential should be scoped to a valid region and service ('${expected.region}', '${expected.service}').`,
    };
  }
  const amzDate = String(req.headers['x-amz-date'] ?? '');
  const when = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!when || amzDate.slice(0, 8) !== date) {
    return {
      type: 'IncompleteSignatureException',
      message: 'Date must be in ISO-8601 basic format and match the credential scope.',
    };
  }
  const signedAt = Date.UTC(+when[1]!, +when[2]! - 1, +when[3]!, +when[4]!, +when[5]!, +when[6]!);
  if (Math.abs(Date.now() - signedAt) > (expected.maxSkewMs ?? 5 * 60_000)) {
    return {
      type: 'InvalidSignatureException',
      message: 'Signature expired: the request time is too far from the server time.',
    };
  }
  const signedHeaders = signedHeaderList!.split(';');
  if (!signedHeaders.includes('host') || !signedHeaders.includes('x-amz-date')) {
    return { type: 'InvalidSignatureException', message: 'SignedHeaders must include host and x-amz-date.' };
  }

  const url = new URL(req.url ?? '/', 'http://fake');
  const rawPath = (req.url ?? '/').split('?')[0]!;
  const canonicalUri = rawPath
    .split('/')
    .map((segment) => rfc3986(segment))
    .join('/');
  const canonicalQuery = [...url.searchParams]
    .map(([k, v]) => [rfc3986(k), rfc3986(v)] as const)
    .sort(([a, av], [b, bv]) => (a === b ? (av < bv ? -1 : 1) : a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const canonicalHeaders = signedHeaders
    .map((name) => {
      const value = req.headers[name];
      const text = Array.isArray(value) ? value.join(',') : (value ?? '');
      return `${name}:${text.trim().replace(/\s+/g, ' ')}\n`;
    })
    .join('');
  const payloadHash = String(req.headers['x-amz-content-sha256'] ?? sha256Hex(body));
  if (payloadHash !== 'UNSIGNED-PAYLOAD' && payloadHash !== sha256Hex(body)) {
    return { type: 'InvalidSignatureException', message: 'The provided x-amz-content-sha256 does not match the body.' };
  }
  const canonicalRequest = [
    req.method,
    canonicalUri,
    canonicalQuery,
    canonicalHeaders,
    signedHeaderList,
    payloadHash,
  ].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  let key = hmac(`AWS4${expected.credentials.secretAccessKey}`, date!);
  for (const part of [region!, service!, 'aws4_request']) key = hmac(key, part);
  const computed = createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');
  if (computed !== signature) {
    return {
      type: 'InvalidSignatureException',
      message:
        'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
    };
  }
  return undefined;
}

/** URI-encodes everything but RFC 3986 unreserved characters, as SigV4 requires. */
function rfc3986(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function sha256Hex(data: string): string {
  return createHash('sha256').update(data, 'utf8').digest('hex');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  if (res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': crypto.randomUUID(),
    ...headers,
  });
  res.end(text);
}

/** AWS JSON error: the type in `x-amzn-ErrorType`, the text in `message`. */
function sendError(res: ServerResponse, status: number, type: string, message: string) {
  sendJson(
    res,
    status,
    { message },
    { 'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/` },
  );
}
