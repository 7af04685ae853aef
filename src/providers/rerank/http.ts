import { RerankError } from './spec.ts';

/** Statuses where the same request can succeed later. */
const RETRYABLE_STATUS = new Set([408, 409, 425, 429, 500, 502, 503, 504]);

/** Longest passage sent for scoring; rerank models read a few hundred tokens at most anyway. */
export const MAX_DOCUMENT_CHARS = 8_000;

export interface RerankHttpSettings {
  url: URL;
  apiKey: string | undefined;
  timeoutMs: number;
  fetch: typeof fetch;
}

/**
 * POSTs JSON to a rerank endpoint and returns the parsed answer. Shared by every wire format: a
 * timeout per call, the caller's signal, and errors that name the server (never the key) and say
 * whether a retry can help.
 */
export async function postJson(settings: RerankHttpSettings, body: unknown, signal: AbortSignal | undefined) {
  const timeout = AbortSignal.timeout(settings.timeoutMs);
  const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
  const where = `${settings.url.origin}${settings.url.pathname}`;
  let response: Response;
  try {
    response = await settings.fetch(settings.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
        ...(settings.apiKey ? { authorization: `Bearer ${settings.apiKey}` } : {}),
      },
      body: JSON.stringify(body),
      signal: combined,
    });
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    const reason = timeout.aborted ? `no answer within ${settings.timeoutMs} ms` : describe(error);
    throw new RerankError(`rerank request to ${where} failed: ${reason}`, { retryable: true, cause: error });
  }
  const text = await response.text().catch(() => '');
  if (!response.ok) {
    throw new RerankError(`rerank API ${where} answered ${response.status}: ${errorMessage(text)}`, {
      retryable: RETRYABLE_STATUS.has(response.status),
      status: response.status,
    });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new RerankError(`rerank API ${where} answered with invalid JSON`, { retryable: false, cause: error });
  }
}

/** Checks an answer's `{ index, score }` pairs against the number of documents sent. */
export function checkedResults(pairs: Array<{ index: unknown; score: unknown }>, count: number, where: string) {
  const seen = new Set<number>();
  const out: { index: number; score: number }[] = [];
  for (const pair of pairs) {
    const { index, score } = pair;
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= count || seen.has(index)) {
      throw new RerankError(`rerank API ${where} returned an invalid index ${String(index)}`, { retryable: false });
    }
    if (typeof score !== 'number' || !Number.isFinite(score)) {
      throw new RerankError(`rerank API ${where} returned an invalid score for index ${index}`, { retryable: false });
    }
    seen.add(index);
    out.push({ index, score });
  }
  return out.sort((a, b) => b.score - a.score || a.index - b.index);
}

function errorMessage(text: string): string {
  try {
    const parsed = JSON.parse(text) as { message?: unknown; error?: unknown; detail?: unknown };
    const candidate =
      typeof parsed.message === 'string'
        ? parsed.message
        : typeof parsed.error === 'string'
          ? parsed.error
          : typeof (parsed.error as { message?: unknown } | undefined)?.message === 'string'
            ? (parsed.error as { message: string }).message
            : typeof parsed.detail === 'string'
              ? parsed.detail
              : undefined;
    if (candidate) return candidate.slice(0, 300);
  } catch {
    // not JSON: fall through
  }
  return text.slice(0, 300) || 'no body';
}

function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  if (cause && typeof cause.code === 'string') return cause.code;
  return error instanceof Error ? error.message : String(error);
}
