/**
 * Ingestion throughput against LangChain.js (issue 3). The same generated documents, the same
 * chunk size and overlap (512/76 o200k tokens, counted by the same gpt-tokenizer), the same fake
 * OpenAI embeddings server (1536-d vectors, in a process of its own) and the same PostgreSQL:
 *
 * - SnapAgent end to end: uploads through the HTTP API (the real app on a loopback port, job queue
 *   and ingestion worker in this process, EMBEDDING_PROVIDER=openai at the fake), timed from the
 *   first upload until every document is `ready`;
 * - LangChain.js: bench/langchain-baseline/ingest.mjs in a child process — for each document
 *   PDFLoader/TextLoader → RecursiveCharacterTextSplitter → PGVectorStore.addDocuments.
 *
 * At 0 ms and 50 ms per embedding call; prints documents/s, chunks/s, the ratio, the fake's call
 * count and most calls in flight, and PASS/FAIL against the targets (≥ 2× at 0 ms, ≥ 5× at 50 ms).
 * Throwaway databases beside the admin URL, dropped afterwards. Loopback only.
 *
 *   node bench/ingest.ts [--documents 150] [--latency 0 --latency 50] [--url postgres://…] [--no-baseline]
 *                        [--set WORKERS=8 ...]
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import pino from 'pino';
import { buildApp } from '../src/app.ts';
import { type Environment, loadConfig } from '../src/config.ts';
import { createDeps } from '../src/infrastructure.ts';
import { DEFAULT_CHUNK_OPTIONS } from '../src/modules/documents/chunk/index.ts';
import { migrate } from '../src/platform/db/migrate.ts';
import { openPostgres } from '../src/platform/db/postgres.ts';
import { createScratchDatabase } from '../src/platform/db/scratch-database.ts';
import { startJobs } from '../src/worker.ts';
import { type FakeEmbeddingsProcess, startFakeEmbeddingsProcess } from './fake-embeddings-process.ts';
import { type CorpusFile, generateCorpus } from './ingest-corpus.ts';

const run = promisify(execFile);
const BASELINE_DIR = join(dirname(fileURLToPath(import.meta.url)), 'langchain-baseline');
const MODEL = 'text-embedding-3-small';

/** documents/s ratio (ours ÷ LangChain.js) each latency must reach. */
export const INGEST_TARGETS: Record<number, number> = { 0: 2, 50: 5 };

export interface IngestBenchOptions {
  /** Admin URL of the PostgreSQL server; throwaway databases are created beside it. */
  url?: string;
  documents?: number;
  /** Fake provider latencies per call, in ms. */
  latencies?: number[];
  dimensions?: number;
  /** Run the LangChain.js baseline too (installs its dependencies when missing). */
  baseline?: boolean;
  /** Extra configuration for our pipeline (e.g. `{ WORKERS: '8' }`); the defaults are what is measured. */
  env?: Environment;
  /** Longest one pipeline may take on the corpus before the run is abandoned. */
  timeoutMs?: number;
  log?: (line: string) => void;
}

export interface PipelineResult {
  documents: number;
  chunks: number;
  ms: number;
  docsPerSecond: number;
  chunksPerSecond: number;
  /** Requests the fake embeddings server received, and the most it had in flight at once. */
  calls: number;
  maxInFlight: number;
  meanBatch: number;
}

export interface IngestBenchRow {
  latencyMs: number;
  ours: PipelineResult;
  langchain: PipelineResult | undefined;
  /** ours ÷ LangChain.js in documents/s. */
  ratio: number | undefined;
  target: number | undefined;
  pass: boolean | undefined;
}

export interface IngestBenchResult {
  corpus: { documents: number; pdfs: number; texts: number; bytes: number };
  rows: IngestBenchRow[];
}

/** Installs bench/langchain-baseline's locked dependencies when they are missing. */
export async function ensureBaselineInstalled(log: (line: string) => void = () => {}): Promise<void> {
  if (existsSync(join(BASELINE_DIR, 'node_modules', '@langchain', 'community', 'package.json'))) return;
  log('installing the LangChain.js baseline (npm ci --prefix bench/langchain-baseline) ...');
  await run('npm', ['ci', '--prefix', BASELINE_DIR, '--no-fund', '--no-audit'], { maxBuffer: 16 * 1024 * 1024 });
}

export async function runIngestBench(options: IngestBenchOptions = {}): Promise<IngestBenchResult> {
  const o = {
    url: 'postgres://postgres@127.0.0.1:5432/postgres',
    documents: 150,
    latencies: [0, 50],
    dimensions: 1536,
    baseline: true,
    env: {},
    timeoutMs: 180_000,
    log: () => {},
    ...options,
  };
  if (o.baseline) await ensureBaselineInstalled(o.log);
  const dir = await mkdtemp(join(tmpdir(), 'snapagent-ingest-bench-'));
  const fake = await startFakeEmbeddingsProcess({ dimensions: o.dimensions, latencyMs: 0 });
  try {
    const files = await generateCorpus(dir, { documents: o.documents });
    const corpus = {
      documents: files.length,
      pdfs: files.filter((f) => f.type === 'pdf').length,
      texts: files.filter((f) => f.type === 'text').length,
      bytes: files.reduce((n, f) => n + f.bytes.byteLength, 0),
    };
    const rows: IngestBenchRow[] = [];
    for (const latencyMs of o.latencies) {
      await fake.setLatency(latencyMs);
      const ours = await measure(fake, () => runOurs(o, fake, files));
      o.log(`  ${latencyMs} ms  SnapAgent  ${describe(ours)}`);
      const langchain = o.baseline ? await measure(fake, () => runLangChain(o, fake, files)) : undefined;
      if (langchain) o.log(`  ${latencyMs} ms  LangChain  ${describe(langchain)}`);
      const ratio = langchain ? ours.docsPerSecond / langchain.docsPerSecond : undefined;
      const target = INGEST_TARGETS[latencyMs];
      rows.push({
        latencyMs,
        ours,
        langchain,
        ratio,
        target,
        pass: ratio !== undefined && target !== undefined ? ratio >= target : undefined,
      });
    }
    return { corpus, rows };
  } finally {
    await fake.close();
    await rm(dir, { recursive: true, force: true });
  }
}

type Timed = { documents: number; chunks: number; ms: number };

async function measure(fake: FakeEmbeddingsProcess, body: () => Promise<Timed>): Promise<PipelineResult> {
  await fake.resetStats();
  const timed = await body();
  const stats = await fake.stats();
  return {
    ...timed,
    docsPerSecond: (timed.documents * 1000) / timed.ms,
    chunksPerSecond: (timed.chunks * 1000) / timed.ms,
    calls: stats.calls,
    maxInFlight: stats.maxInFlight,
    meanBatch: stats.meanBatch,
  };
}

function describe(r: PipelineResult): string {
  return `${r.documents} docs, ${r.chunks} chunks in ${(r.ms / 1000).toFixed(2)} s: ${r.docsPerSecond.toFixed(1)} docs/s, ${r.calls} calls, max ${r.maxInFlight} in flight`;
}

async function withDatabase<T>(adminUrl: string, body: (url: string) => Promise<T>): Promise<T> {
  const database = await createScratchDatabase(adminUrl, 'snapagent_bench_ingest');
  try {
    return await body(database.url);
  } finally {
    await database.drop();
  }
}

/** SnapAgent: the real app and worker over PostgreSQL; uploads over HTTP until all are ready. */
function runOurs(
  o: Required<Pick<IngestBenchOptions, 'url' | 'env' | 'timeoutMs'>>,
  fake: FakeEmbeddingsProcess,
  files: CorpusFile[],
): Promise<Timed> {
  return withDatabase(o.url, async (url) => {
    const config = loadConfig({
      LOG_LEVEL: 'error',
      DATABASE_URL: url,
      EMBEDDING_PROVIDER: 'openai',
      EMBEDDING_MODEL: MODEL,
      OPENAI_API_KEY: fake.apiKey,
      OPENAI_BASE_URL: fake.url,
      // A throughput benchmark polls the API far faster than a person would.
      RATE_LIMIT_ENABLED: 'false',
      ...o.env,
    } as Environment);
    const db = await openPostgres({
      url,
      ssl: 'disable',
      poolSize: config.database.driver === 'postgres' ? config.database.poolSize : 10,
    });
    await migrate(db);
    const log = pino({ level: 'error' });
    const deps = createDeps(config, db, log);
    const jobs = await startJobs(deps, true);
    const { app } = await buildApp(deps);
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const api = async (method: string, path: string, body?: unknown, token?: string) => {
        const res = await fetch(`${base}/api/v1${path}`, {
          method,
          headers: {
            ...(body instanceof FormData ? {} : body ? { 'content-type': 'application/json' } : {}),
            ...(token ? { authorization: `Bearer ${token}` } : {}),
          },
          body: body instanceof FormData ? body : body ? JSON.stringify(body) : undefined,
        });
        const text = await res.text();
        if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
        return text ? JSON.parse(text) : undefined;
      };
      const account = await api('POST', '/auth/register', {
        email: 'bench@example.com',
        password: 'a long benchmark password',
        name: 'Bench',
      });
      const token = account.access_token as string;
      const bot = await api('POST', '/bots', { name: 'Ingestion bench' }, token);
      const botId = bot.id as string;

      // Timed from the first upload until the last document turned `ready`: its `updated_at`
      // (same machine, same clock), so the polling interval adds nothing to the figure.
      const started = Date.now();
      for (let i = 0; i < files.length; i += config.maxUploadFiles) {
        const form = new FormData();
        for (const f of files.slice(i, i + config.maxUploadFiles)) {
          form.append('files', new Blob([await readFile(f.path)]), f.filename);
        }
        await api('POST', `/documents/upload?bot_id=${botId}`, form, token);
      }
      const deadline = Date.now() + o.timeoutMs;
      for (let poll = 1; ; poll++) {
        const ready = await api('GET', `/documents?bot_id=${botId}&status=ready&limit=1`, undefined, token);
        if (ready.total === files.length) break;
        if (poll % 10 === 0) {
          const failed = await api('GET', `/documents?bot_id=${botId}&status=failed&limit=1`, undefined, token);
          if (failed.total > 0) throw new Error(`${failed.total} document(s) failed: ${failed.documents[0]?.error}`);
        }
        if (Date.now() > deadline) throw new Error(`only ${ready.total} of ${files.length} documents ready in time`);
        await new Promise((r) => setTimeout(r, 100));
      }
      let finished = 0;
      for (let offset = 0; offset < files.length; offset += 200) {
        const page = await api('GET', `/documents?bot_id=${botId}&limit=200&offset=${offset}`, undefined, token);
        for (const d of page.documents) finished = Math.max(finished, Date.parse(d.updated_at));
      }
      const ms = finished - started;
      const counted = await db.query<{ chunks: number; embedded: number }>(
        'SELECT count(*)::int AS chunks, count(embedding)::int AS embedded FROM chunks WHERE bot_id = $1',
        [botId],
      );
      const chunks = counted[0]?.chunks ?? 0;
      if (counted[0]?.embedded !== chunks) throw new Error('some chunks were stored without an embedding');
      return { documents: files.length, chunks, ms };
    } finally {
      await app.close();
      await jobs.stop();
      await db.close();
    }
  });
}

/** LangChain.js in its own process (its pdfjs-dist must not meet our unpdf), on its own database. */
function runLangChain(
  o: Required<Pick<IngestBenchOptions, 'url' | 'dimensions' | 'timeoutMs'>>,
  fake: FakeEmbeddingsProcess,
  files: CorpusFile[],
): Promise<Timed> {
  return withDatabase(o.url, async (url) => {
    const job = {
      files: files.map((f) => ({ path: f.path, type: f.type })),
      databaseUrl: url,
      tableName: 'langchain_bench',
      baseURL: fake.url,
      apiKey: fake.apiKey,
      model: MODEL,
      dimensions: o.dimensions,
      chunkSize: DEFAULT_CHUNK_OPTIONS.chunkSize,
      chunkOverlap: DEFAULT_CHUNK_OPTIONS.chunkOverlap,
      length: 'tokens',
    };
    const { stdout } = await run(process.execPath, [join(BASELINE_DIR, 'ingest.mjs'), JSON.stringify(job)], {
      cwd: BASELINE_DIR,
      timeout: o.timeoutMs,
      maxBuffer: 16 * 1024 * 1024,
    });
    const result = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as Timed & { stored: number };
    if (result.stored !== result.chunks)
      throw new Error(`LangChain.js stored ${result.stored} of ${result.chunks} chunks`);
    return { documents: result.documents, chunks: result.chunks, ms: result.ms };
  });
}

/** The table `npm run bench` and `node bench/ingest.ts` print. */
export function formatIngestTable(result: IngestBenchResult): string {
  const lines = [
    `Ingestion: ${result.corpus.documents} documents (${result.corpus.pdfs} PDF, ${result.corpus.texts} text, ${(result.corpus.bytes / 1e6).toFixed(1)} MB), ` +
      `chunks of ${DEFAULT_CHUNK_OPTIONS.chunkSize} tokens / ${DEFAULT_CHUNK_OPTIONS.chunkOverlap} overlap, fake OpenAI embeddings, PostgreSQL`,
    '| latency | pipeline | docs/s | chunks/s | chunks | seconds | calls | max in flight | ratio (docs/s) | target |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  const cells = (r: PipelineResult) =>
    `${r.docsPerSecond.toFixed(1)} | ${r.chunksPerSecond.toFixed(0)} | ${r.chunks} | ${(r.ms / 1000).toFixed(2)} | ${r.calls} | ${r.maxInFlight}`;
  for (const row of result.rows) {
    const verdict = row.ratio === undefined ? '—' : `${row.ratio.toFixed(1)}×`;
    const verdictOf = (pass: boolean | undefined) => (pass === undefined ? '' : pass ? ' PASS' : ' FAIL');
    const target = row.target === undefined ? '—' : `≥ ${row.target}×${verdictOf(row.pass)}`;
    lines.push(`| ${row.latencyMs} ms | SnapAgent | ${cells(row.ours)} | ${verdict} | ${target} |`);
    if (row.langchain) lines.push(`| ${row.latencyMs} ms | LangChain.js | ${cells(row.langchain)} | | |`);
  }
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      documents: { type: 'string' },
      latency: { type: 'string', multiple: true },
      'no-baseline': { type: 'boolean' },
      /** Configuration for our pipeline, e.g. `--set WORKERS=8`. */
      set: { type: 'string', multiple: true },
    },
  });
  const env = Object.fromEntries(
    (values.set ?? []).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
  const result = await runIngestBench({
    ...(values.url ? { url: values.url } : {}),
    ...(values.documents ? { documents: Number(values.documents) } : {}),
    ...(values.latency ? { latencies: values.latency.map(Number) } : {}),
    baseline: !values['no-baseline'],
    env,
    log: (line) => process.stdout.write(`${line}\n`),
  });
  process.stdout.write(`\n${formatIngestTable(result)}\n`);
}
