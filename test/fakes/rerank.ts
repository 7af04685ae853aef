/**
 * A loopback rerank API for tests and benchmarks, speaking three real wire formats:
 *
 * - Cohere `POST /v1/rerank` and `/v2/rerank`: `{ model, query, documents }` →
 *   `{ id, results: [{ index, relevance_score }], meta }`;
 * - Voyage `POST /v1/rerank` (with `voyage: true`): the same request → `{ object: 'list', data, model, usage }`;
 * - TEI `POST /rerank`: `{ query, texts }` → `[{ index, score }]`.
 *
 * Scores are deterministic: the share of the query's words (and Hangul character pairs) found in
 * the passage, so a passage that shares more of the question ranks higher. Failures and latency
 * can be injected; every request is recorded.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRerankRequest {
  path: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
  query: string;
  documents: string[];
}

export interface FakeRerankOptions {
  /** Required bearer key; default none (TEI usually runs without one). */
  apiKey?: string;
  /** Answer `/v1/rerank` in Voyage's shape instead of Cohere's. */
  voyage?: boolean;
  /** Scores each passage; default: share of the query's terms found in it. */
  score?: (query: string, document: string) => number;
}

export interface FakeRerankServer {
  /** Origin, e.g. `http://127.0.0.1:40123` (no path). */
  url: string;
  requests: RecordedRerankRequest[];
  /** The next `count` requests fail with `status`. */
  failNext(status: number, count?: number): void;
  setLatency(ms: number): void;
  close(): Promise<void>;
}

export async function startFakeRerank(options: FakeRerankOptions = {}): Promise<FakeRerankServer> {
  const requests: RecordedRerankRequest[] = [];
  const failures: { status: number; count: number }[] = [];
  let latencyMs = 0;
  const score = options.score ?? termOverlap;

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const raw = await readBody(req);
    const path = new URL(req.url ?? '/', 'http://fake').pathname;
    const cohere = /^\/v[12]\/rerank$/.test(path);
    if (req.method !== 'POST' || (!cohere && path !== '/rerank')) {
      return sendJson(res, 404, { message: `no route for ${req.method} ${path}` });
    }
    if (options.apiKey && req.headers.authorization !== `Bearer ${options.apiKey}`) {
      return sendJson(res, 401, { message: 'invalid api token' });
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      return sendJson(res, 400, { message: 'invalid JSON' });
    }
    const query = body.query;
    const documents = cohere ? body.documents : body.texts;
    if (typeof query !== 'string' || query === '') return sendJson(res, 400, { message: 'query is required' });
    if (!Array.isArray(documents) || !documents.every((d): d is string => typeof d === 'string')) {
      return sendJson(res, 400, { message: cohere ? 'documents must be strings' : 'texts must be strings' });
    }
    if (cohere && typeof body.model !== 'string') return sendJson(res, 400, { message: 'model is required' });
    requests.push({ path, headers: req.headers, body, query, documents });
    if (latencyMs > 0) await new Promise((r) => setTimeout(r, latencyMs));
    const failure = failures[0];
    if (failure) {
      if (--failure.count <= 0) failures.shift();
      return sendJson(res, failure.status, { message: `injected failure ${failure.status}` });
    }
    const ranked = documents
      .map((d, index) => ({ index, score: score(query, d) }))
      .sort((a, b) => b.score - a.score || a.index - b.index);
    if (!cohere) return sendJson(res, 200, ranked);
    if (options.voyage) {
      return sendJson(res, 200, {
        object: 'list',
        data: ranked.map((r) => ({ relevance_score: r.score, index: r.index })),
        model: body.model,
        usage: { total_tokens: documents.join(' ').length },
      });
    }
    return sendJson(res, 200, {
      id: randomUUID(),
      results: ranked.map((r) => ({ index: r.index, relevance_score: r.score })),
      meta: { api_version: { version: path.startsWith('/v2') ? '2' : '1' }, billed_units: { search_units: 1 } },
    });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => sendJson(res, 500, { message: String(error) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    failNext(status, count = 1) {
      failures.push({ status, count });
    },
    setLatency(ms) {
      latencyMs = ms;
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** Words (lowercased) and Hangul character pairs: enough for Korean and English questions. */
function terms(text: string): Set<string> {
  const out = new Set<string>();
  for (const word of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
    if (/[\uac00-\ud7a3]/.test(word) && word.length > 1) {
      for (let i = 0; i + 1 < word.length; i++) out.add(word.slice(i, i + 2));
    } else if (word.length > 2) {
      out.add(word);
    }
  }
  return out;
}

/** Share of the query's terms present in the document, 0…1. */
export function termOverlap(query: string, document: string): number {
  const q = terms(query);
  if (q.size === 0) return 0;
  const d = terms(document);
  let hits = 0;
  for (const t of q) if (d.has(t)) hits++;
  return hits / q.size;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function sendJson(res: ServerResponse, status: number, body: unknown) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
