import type { Config } from '../../config.ts';
import { createCohereReranker } from './cohere.ts';
import type { Reranker, RerankFormat } from './spec.ts';
import { createTeiReranker } from './tei.ts';

export { RerankError, type Reranker, type RerankFormat, type RerankResult } from './spec.ts';

/** A rerank call waits at most this long; search then keeps its own order. */
export const DEFAULT_RERANK_TIMEOUT_MS = 5_000;

/** Known hosted APIs and the model used when RERANK_MODEL is not set. */
const HOSTED: Array<{ host: RegExp; path: string; model: string }> = [
  { host: /(^|\.)cohere\.(com|ai)$/i, path: '/v2/rerank', model: 'rerank-v3.5' },
  { host: /(^|\.)voyageai\.com$/i, path: '/v1/rerank', model: 'rerank-2' },
  { host: /(^|\.)jina\.ai$/i, path: '/v1/rerank', model: 'jina-reranker-v2-base-multilingual' },
];

/**
 * Where to send rerank requests and in which wire format, from RERANK_URL alone:
 *
 * - a URL ending in `/v1/rerank` or `/v2/rerank` (Cohere, Voyage, Jina, LiteLLM): Cohere's format;
 * - any other URL ending in `/rerank`: TEI's format;
 * - a bare host of Cohere, Voyage or Jina: their documented endpoint;
 * - a base ending in `/v1` or `/v2`: Cohere's format at `<base>/rerank`;
 * - anything else (e.g. `http://tei:8080`): TEI at `<base>/rerank`.
 */
export function resolveRerankEndpoint(rawUrl: string): { url: URL; format: RerankFormat; defaultModel?: string } {
  const url = new URL(rawUrl);
  const path = url.pathname.replace(/\/+$/, '');
  if (/\/v\d+\/rerank$/.test(path)) {
    return { url: withPath(url, path), format: 'cohere', ...hostedModel(url) };
  }
  if (/\/rerank$/.test(path)) return { url: withPath(url, path), format: 'tei' };
  const hosted = HOSTED.find((h) => h.host.test(url.hostname));
  if (hosted && path === '') return { url: withPath(url, hosted.path), format: 'cohere', defaultModel: hosted.model };
  if (/\/v\d+$/.test(path)) return { url: withPath(url, `${path}/rerank`), format: 'cohere', ...hostedModel(url) };
  return { url: withPath(url, `${path}/rerank`), format: 'tei' };
}

function hostedModel(url: URL): { defaultModel?: string } {
  const hosted = HOSTED.find((h) => h.host.test(url.hostname));
  return hosted ? { defaultModel: hosted.model } : {};
}

function withPath(url: URL, path: string): URL {
  const copy = new URL(url);
  copy.pathname = path;
  return copy;
}

/**
 * The operator's rerank API from RERANK_URL / RERANK_API_KEY / RERANK_MODEL, or `undefined` when
 * none is configured (search then keeps the engine's order).
 */
export function createReranker(
  config: Pick<Config, 'rerank'>,
  options: { fetch?: typeof fetch; timeoutMs?: number } = {},
): Reranker | undefined {
  if (!config.rerank) return undefined;
  const endpoint = resolveRerankEndpoint(config.rerank.url);
  const http = {
    url: endpoint.url,
    apiKey: config.rerank.apiKey,
    timeoutMs: options.timeoutMs ?? DEFAULT_RERANK_TIMEOUT_MS,
    fetch: options.fetch ?? fetch,
  };
  return endpoint.format === 'cohere'
    ? createCohereReranker({ ...http, model: config.rerank.model ?? endpoint.defaultModel })
    : createTeiReranker(http);
}
