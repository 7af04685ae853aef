import { timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import { unauthorized } from './errors.ts';
import type { App } from './http/types.ts';

/**
 * The process's metrics, served as Prometheus text at `GET /metrics`. Labels never carry tenant
 * ids (bots, teams, users): series stay few whatever the number of customers, and a scrape
 * reveals none of them. Ingestion is counted by the process that runs the worker.
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'snapagent_' });

const registers = [registry];
const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export const metrics = {
  http: new Histogram({
    name: 'snapagent_http_request_duration_seconds',
    help: 'HTTP requests by route template, method and status, until the response ends (whole streams included)',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: SECONDS,
    registers,
  }),
  documents: new Counter({
    name: 'snapagent_documents_ingested_total',
    help: 'Ingestion attempts by outcome: ready, failed (for good), retry (will be tried again), superseded (a newer attempt owns the document)',
    labelNames: ['outcome'] as const,
    registers,
  }),
  ingestSeconds: new Histogram({
    name: 'snapagent_document_ingest_duration_seconds',
    help: 'Time from an ingestion attempt starting to its chunks being stored',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers,
  }),
  chunks: new Counter({ name: 'snapagent_chunks_stored_total', help: 'Chunks written by ingestion', registers }),
  chatTurns: new Counter({
    name: 'snapagent_chat_turns_total',
    help: 'Chat turns by how they were answered (llm, extractive, no_answer, workflow) and outcome (ok or an error code)',
    labelNames: ['mode', 'outcome'] as const,
    registers,
  }),
  llmTokens: new Counter({
    name: 'snapagent_llm_tokens_total',
    help: 'LLM tokens spent by every model call (chat, query rewriting, workflows), by the provider and model that answered and direction (input, output)',
    labelNames: ['provider', 'model', 'direction'] as const,
    registers,
  }),
};

/**
 * A label value from a set that users can grow (model names a bot's settings choose): the first
 * `max` values seen keep their name, later ones share `other`, so no one can mint series at will.
 */
export function boundedLabel(seen: Set<string>, value: string, max = 50): string {
  if (seen.has(value)) return value;
  if (seen.size >= max) return 'other';
  seen.add(value);
  return value;
}

/** Whether a scrape's `Authorization` header carries the token (always, when none is set). */
function scrapeAllowed(authorization: string | undefined, token: string | undefined): boolean {
  if (!token) return true;
  const expected = Buffer.from(`Bearer ${token}`);
  const given = Buffer.from(authorization ?? '');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * `GET /metrics`, and the hook that times every request. With `token` set, scrapes must send
 * `Authorization: Bearer <token>`; without it the endpoint is open (keep it off the public edge).
 */
export function metricsRoutes(app: App, options: { token: string | undefined }): void {
  app.addHook('onResponse', async (request, reply) => {
    // Route templates only (`/api/v1/documents/:id`), never raw URLs: unknown paths share one label.
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.http.observe({ method: request.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });
  app.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
    if (!scrapeAllowed(request.headers.authorization, options.token)) {
      throw unauthorized('Send Authorization: Bearer <METRICS_TOKEN>');
    }
    reply.header('content-type', registry.contentType);
    return registry.metrics();
  });
}

/**
 * A `worker` process has no HTTP API: with `WORKER_METRICS_PORT` it answers `GET /metrics` (same
 * token rule) on a listener of its own, so its ingestion counters can be scraped too.
 */
export async function serveWorkerMetrics(options: {
  host: string;
  port: number;
  token: string | undefined;
}): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    if (!scrapeAllowed(req.headers.authorization, options.token)) {
      res.writeHead(401, { 'www-authenticate': 'Bearer' }).end();
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, resolve);
  });
  return server;
}
