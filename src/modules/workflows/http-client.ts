import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import zlib from 'node:zlib';
import { WorkflowNodeError } from './node-definition.ts';
import {
  BlockedAddressError,
  type NetworkPolicy,
  pinnedLookup,
  resolveAllowedAddresses,
  systemDnsLookup,
} from './ssrf.ts';
import type { DnsLookup, ResolvedAddress } from './workflow-deps.ts';

/**
 * The HTTP client of http_request nodes: every hop (redirects included, followed by hand) is
 * checked by the SSRF guard; the built-in transport connects only to checked addresses; bodies
 * are read up to a byte limit (after decompression); one deadline covers the whole exchange.
 */

export interface HttpRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body?: string | undefined;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The URL that answered, after redirects. */
  url: string;
  redirects: number;
}

export interface HttpClientOptions {
  policy: NetworkPolicy;
  dnsLookup?: DnsLookup | undefined;
  /** When set, used instead of the built-in transport (URL checks still apply, see `WorkflowDeps.fetch`). */
  fetch?: typeof fetch | undefined;
  timeoutMs: number;
  maxResponseBytes: number;
  maxRedirects: number;
  followRedirects: boolean;
  signal: AbortSignal;
}

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: AsyncIterable<Uint8Array>;
  discard(): void;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const CREDENTIAL_HEADERS = ['authorization', 'cookie', 'proxy-authorization'];

export async function sendHttpRequest(request: HttpRequest, options: HttpClientOptions): Promise<HttpResponse> {
  const lookup = options.dnsLookup ?? systemDnsLookup;
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = AbortSignal.any([options.signal, timeout]);
  let current = { ...request, headers: { ...request.headers } };
  try {
    for (let hop = 0; ; hop++) {
      if (current.url.protocol !== 'http:' && current.url.protocol !== 'https:') {
        throw new WorkflowNodeError(
          'http_blocked',
          `Only http and https URLs are allowed, not ${current.url.protocol}`,
        );
      }
      // Resolved and checked once per hop; the built-in client then connects only to these.
      const addresses = await resolveAllowedAddresses(current.url.hostname, options.policy, lookup);
      const response = options.fetch
        ? await sendWithFetch(options.fetch, current, signal)
        : await sendWithNode(current, addresses, signal);
      const location = response.headers.location;
      if (!REDIRECTS.has(response.status) || !options.followRedirects || !location) {
        const bytes = await readLimited(response, options.maxResponseBytes);
        return {
          status: response.status,
          headers: response.headers,
          body: decodeText(bytes, response.headers['content-type']),
          url: current.url.toString(),
          redirects: hop,
        };
      }
      response.discard();
      if (hop >= options.maxRedirects) {
        throw new WorkflowNodeError('http_too_many_redirects', `More than ${options.maxRedirects} redirects`);
      }
      current = nextHop(current, response.status, new URL(location, current.url));
    }
  } catch (err) {
    if (err instanceof WorkflowNodeError) throw err;
    if (err instanceof BlockedAddressError) throw new WorkflowNodeError('http_blocked', err.message);
    if (timeout.aborted && !options.signal.aborted) {
      throw new WorkflowNodeError('http_timeout', `The request did not complete within ${options.timeoutMs} ms`);
    }
    if (options.signal.aborted) throw options.signal.reason;
    const message = err instanceof Error ? err.message : String(err);
    throw new WorkflowNodeError('http_error', `Request to ${current.url.host} failed: ${message}`, { cause: err });
  }
}

/** The request a redirect leads to: 303 (and 301/302 after a POST) become GET without a body. */
function nextHop(previous: HttpRequest, status: number, url: URL): HttpRequest {
  const headers = { ...previous.headers };
  let { method, body } = previous;
  if (status === 303 ? method !== 'HEAD' : (status === 301 || status === 302) && method === 'POST') {
    method = 'GET';
    body = undefined;
    delete headers['content-type'];
  }
  if (url.origin !== previous.url.origin) for (const h of CREDENTIAL_HEADERS) delete headers[h];
  return { method, url, headers, body };
}

function sendWithNode(
  request: HttpRequest,
  addresses: readonly ResolvedAddress[],
  signal: AbortSignal,
): Promise<RawResponse> {
  const transport = request.url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = transport.request(
      request.url,
      {
        method: request.method,
        headers: { 'accept-encoding': 'gzip, deflate, br', ...request.headers },
        lookup: pinnedLookup(addresses),
        agent: false,
        signal,
      },
      (res) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers)) {
          if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
        }
        resolve({
          status: res.statusCode ?? 0,
          headers,
          body: decompress(res, headers['content-encoding']),
          discard: () => res.destroy(),
        });
      },
    );
    req.on('error', reject);
    req.end(request.body);
  });
}

function decompress(res: Readable, encoding: string | undefined): AsyncIterable<Uint8Array> {
  const decoder =
    encoding === 'gzip' || encoding === 'x-gzip'
      ? zlib.createGunzip()
      : encoding === 'deflate'
        ? zlib.createInflate()
        : encoding === 'br'
          ? zlib.createBrotliDecompress()
          : undefined;
  if (!decoder) return res;
  res.on('error', (e) => decoder.destroy(e));
  decoder.on('close', () => res.destroy());
  return res.pipe(decoder);
}

async function sendWithFetch(fetchFn: typeof fetch, request: HttpRequest, signal: AbortSignal): Promise<RawResponse> {
  const res = await fetchFn(request.url, {
    method: request.method,
    headers: request.headers,
    body: request.body ?? null,
    redirect: 'manual',
    signal,
  });
  const headers: Record<string, string> = {};
  res.headers.forEach((v, k) => {
    headers[k] = v;
  });
  const body = res.body ? Readable.fromWeb(res.body as WebReadableStream<Uint8Array>) : Readable.from([]);
  return { status: res.status, headers, body, discard: () => body.destroy() };
}

async function readLimited(response: RawResponse, maxBytes: number): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of response.body) {
    total += chunk.byteLength;
    if (total > maxBytes) {
      response.discard();
      throw new WorkflowNodeError('http_response_too_large', `The response is larger than ${maxBytes} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function decodeText(bytes: Buffer, contentType: string | undefined): string {
  const charset = /charset=([^;\s]+)/i.exec(contentType ?? '')?.[1]?.replace(/"/g, '');
  try {
    return new TextDecoder(charset ?? 'utf-8').decode(bytes);
  } catch {
    return new TextDecoder('utf-8').decode(bytes);
  }
}
