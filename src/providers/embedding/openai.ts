import type { EmbeddingProvider } from './spec.ts';
import { EmbeddingError } from './spec.ts';

export const DEFAULT_OPENAI_EMBEDDING_MODEL = 'text-embedding-3-small';

/** Native sizes of OpenAI's own models, so their dimensions are known without configuration. */
const KNOWN_DIMENSIONS: Record<string, number> = {
  'text-embedding-3-small': 1536,
  'text-embedding-3-large': 3072,
  'text-embedding-ada-002': 1536,
};

export interface OpenAIEmbeddingSettings {
  /** Up to and including `/v1` (Azure: `https://<resource>.openai.azure.com/openai/v1`). Default OpenAI's. */
  baseURL?: string;
  /** Sent as `Authorization: Bearer`; local servers (Ollama, TEI) usually need none. */
  apiKey?: string;
  /** Default `text-embedding-3-small`. */
  model?: string;
  /**
   * Vector size. When set it is also sent as `dimensions` (text-embedding-3 shortens its output;
   * most compatible servers accept it). Required for models this file does not know.
   */
  dimensions?: number;
  /** Most inputs per request. Default 256 (OpenAI accepts 2048; smaller batches retry cheaper). */
  maxBatchSize?: number;
  /** Extra headers, e.g. Azure's `api-key`. */
  headers?: Record<string, string>;
  fetch?: typeof fetch;
}

/**
 * Any OpenAI-compatible `POST /embeddings` endpoint (OpenAI, Azure OpenAI, Ollama, vLLM, TEI,
 * LiteLLM…) over plain `fetch`. Dimensions are fixed before the first call — configured, or
 * known for OpenAI's own models — because they decide the vector column a bot's chunks go into;
 * an answer of another size is rejected rather than learnt.
 */
export function createOpenAIProvider(settings: OpenAIEmbeddingSettings = {}): EmbeddingProvider {
  const model = settings.model ?? DEFAULT_OPENAI_EMBEDDING_MODEL;
  const dimensions = settings.dimensions ?? KNOWN_DIMENSIONS[model];
  if (dimensions === undefined) {
    throw new EmbeddingError(
      `the size of vectors from embedding model ${model} is unknown: set EMBEDDING_DIMENSIONS to what it returns`,
      { retryable: false },
    );
  }
  const url = embeddingsUrl(settings.baseURL ?? 'https://api.openai.com/v1');
  const doFetch = settings.fetch ?? fetch;
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/json',
    ...(settings.apiKey ? { authorization: `Bearer ${settings.apiKey}` } : {}),
    ...settings.headers,
  };

  return {
    provider: 'openai',
    modelId: model,
    dimensions,
    maxBatchSize: settings.maxBatchSize ?? 256,
    async doEmbed(texts, { signal }) {
      const body = {
        model,
        input: texts,
        // Base64 float32 is a quarter of the JSON-number text and decodes without parsing floats
        // (what OpenAI's own SDK asks for); servers that ignore it and answer numbers still work.
        encoding_format: 'base64',
        ...(settings.dimensions !== undefined ? { dimensions: settings.dimensions } : {}),
      };
      let response: Response;
      try {
        response = await doFetch(url, { method: 'POST', headers, body: JSON.stringify(body), signal });
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        throw new EmbeddingError(`embeddings request to ${url.origin} failed: ${describeNetworkError(error)}`, {
          retryable: true,
          cause: error,
        });
      }
      if (!response.ok) throw await httpError(response, url);
      let parsed: unknown;
      try {
        parsed = await response.json();
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        throw new EmbeddingError(`embeddings response from ${url.origin} is not JSON`, {
          retryable: true,
          cause: error,
        });
      }
      return readVectors(parsed, texts.length, url);
    },
  };
}

/** `<base>/embeddings`, keeping a query string such as Azure's `api-version`. */
function embeddingsUrl(baseURL: string): URL {
  const url = new URL(baseURL);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/embeddings`;
  return url;
}

function readVectors(parsed: unknown, count: number, url: URL): number[][] {
  const data = (parsed as { data?: unknown } | null)?.data;
  if (!Array.isArray(data) || data.length !== count) {
    throw new EmbeddingError(
      `embeddings response from ${url.origin} has ${Array.isArray(data) ? data.length : 'no'} items for ${count} inputs`,
      {
        retryable: false,
      },
    );
  }
  const vectors = new Array<number[]>(count);
  data.forEach((item: { index?: unknown; embedding?: unknown }, position) => {
    const index = typeof item?.index === 'number' ? item.index : position;
    const embedding = typeof item?.embedding === 'string' ? decodeFloat32(item.embedding) : item?.embedding;
    if (!Array.isArray(embedding) || index < 0 || index >= count || vectors[index]) {
      throw new EmbeddingError(`embeddings response from ${url.origin} has a malformed item at ${position}`, {
        retryable: false,
      });
    }
    vectors[index] = embedding as number[];
  });
  return vectors;
}

/** Base64 of little-endian float32 values, as OpenAI encodes them; undefined when malformed. */
function decodeFloat32(base64: string): number[] | undefined {
  const bytes = Buffer.from(base64, 'base64');
  if (bytes.byteLength % 4 !== 0) return undefined;
  // Copied into an aligned buffer of its own, then read as one typed array (little-endian hosts:
  // x86-64 and arm64 alike).
  return Array.from(new Float32Array(Uint8Array.from(bytes).buffer));
}

async function httpError(response: Response, url: URL): Promise<EmbeddingError> {
  const text = await response.text().catch(() => '');
  let message = text.slice(0, 500);
  let code: string | undefined;
  try {
    const body = JSON.parse(text) as { error?: { message?: string; code?: string } | string; message?: string };
    if (typeof body.error === 'string') message = body.error;
    else if (body.error?.message) message = body.error.message;
    else if (body.message) message = body.message;
    code = typeof body.error === 'object' ? (body.error.code ?? undefined) : undefined;
  } catch {
    // not JSON: keep the text
  }
  const status = response.status;
  // OpenAI answers 429 both for rate limits (wait) and for an exhausted quota (waiting won't help).
  const retryable =
    (status === 408 || status === 409 || status === 429 || status >= 500) && code !== 'insufficient_quota';
  const retryAfterMs = parseRetryAfter(response.headers);
  return new EmbeddingError(`embeddings request to ${url.origin} failed with ${status}: ${message}`, {
    retryable,
    status,
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
  });
}

/** `retry-after-ms` (OpenAI, Azure) or `Retry-After` in seconds or as an HTTP date. */
export function parseRetryAfter(headers: Headers, now = Date.now()): number | undefined {
  const ms = Number(headers.get('retry-after-ms') ?? Number.NaN);
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const value = headers.get('retry-after');
  if (value === null || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function describeNetworkError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  const message = error instanceof Error ? error.message : String(error);
  return cause?.code ? `${message} (${cause.code})` : cause?.message ? `${message} (${cause.message})` : message;
}
