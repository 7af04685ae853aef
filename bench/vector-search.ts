/**
 * Bot-scoped vector search at scale, on PostgreSQL, in one table:
 * - 100 bots × 1,000 chunks of uniformly random 384-d vectors (DESIGN.md's failure case for one
 *   global HNSW index): exact plan;
 * - 2 large bots × 25,000 chunks drawn around 250 random centres each (real embeddings cluster):
 *   their own partial HNSW index;
 * - 1 large bot × 25,000 uniformly random chunks: the partial HNSW index on HNSW's worst case
 *   (in 384 dimensions uniform points are all nearly equidistant, so graph search loses recall);
 * - 1 bot just under the HNSW threshold: the slowest exact scan a bot can get.
 *
 * Measures p50/p99 latency of `searchVector` (plan lookup included), the server CPU time per search
 * (read from /proc for a local server: the latency an idle machine would see, unaffected by other
 * load) and recall@10 against an exact scan. Uses a throwaway database that is dropped afterwards.
 *
 *   node bench/vector-search.ts [--url postgres://postgres@127.0.0.1:5432/postgres] [--quick]
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  DEFAULT_HNSW_THRESHOLD,
  ensureVectorIndex,
  explainVectorSearch,
  searchVector,
} from '../src/modules/retrieval/vector.ts';
import type { Db } from '../src/platform/db/db.ts';
import { migrate } from '../src/platform/db/migrate.ts';
import { openPostgres } from '../src/platform/db/postgres.ts';
import { createScratchDatabase } from '../src/platform/db/scratch-database.ts';

export interface VectorBenchOptions {
  /** Admin URL of the PostgreSQL server; a throwaway database is created beside it. */
  url?: string;
  dims?: number;
  smallBots?: number;
  smallBotChunks?: number;
  largeBots?: number;
  largeBotChunks?: number;
  /** Large bots with uniformly random vectors (the worst case). */
  uniformLargeBots?: number;
  /** Chunks of the bot just under the HNSW threshold (0 to leave it out). */
  thresholdBotChunks?: number;
  queriesPerGroup?: number;
  log?: (line: string) => void;
}

export interface VectorBenchRow {
  group: string;
  plan: string;
  bots: number;
  chunksPerBot: number;
  queries: number;
  p50Ms: number;
  p99Ms: number;
  /** Server CPU time per search (from /proc when the server is local): latency without contention. */
  serverCpuMs: number | undefined;
  recallAt10: number;
  fullTopK: number;
}

export interface VectorBenchResult {
  totalChunks: number;
  indexBuildMs: number;
  rows: VectorBenchRow[];
}

export async function runVectorBench(options: VectorBenchOptions = {}): Promise<VectorBenchResult> {
  const o = {
    url: 'postgres://postgres@127.0.0.1:5432/postgres',
    dims: 384,
    smallBots: 100,
    smallBotChunks: 1_000,
    largeBots: 2,
    largeBotChunks: 25_000,
    uniformLargeBots: 1,
    thresholdBotChunks: DEFAULT_HNSW_THRESHOLD - 1_000,
    queriesPerGroup: 300,
    log: () => {},
    ...options,
  };
  const database = await createScratchDatabase(o.url, 'snapagent_bench_vector');
  // One connection: every query runs in the same server process, whose CPU time is then measurable.
  const db = await openPostgres({ url: database.url, ssl: 'disable', poolSize: 1 });
  try {
    await migrate(db);
    await db.query('CREATE TABLE bench_centres (bot_id uuid, centre int, v float8[], PRIMARY KEY (bot_id, centre))');
    const small = await createBots(db, o.smallBots, o.smallBotChunks, o.dims, 'uniform');
    const large = await createBots(db, o.largeBots, o.largeBotChunks, o.dims, 'clustered');
    const uniformLarge = await createBots(db, o.uniformLargeBots, o.largeBotChunks, o.dims, 'uniform');
    const near = o.thresholdBotChunks > 0 ? await createBots(db, 1, o.thresholdBotChunks, o.dims, 'uniform') : [];
    const totalChunks =
      o.smallBots * o.smallBotChunks +
      (o.largeBots + o.uniformLargeBots) * o.largeBotChunks +
      near.length * o.thresholdBotChunks;
    o.log(`inserted ${totalChunks} chunks`);
    await db.query('VACUUM ANALYZE chunks');
    const started = performance.now();
    for (const botId of [...small, ...large, ...uniformLarge, ...near]) await ensureVectorIndex(db, botId, o.dims);
    const indexBuildMs = performance.now() - started;
    o.log(`partial HNSW indexes built in ${Math.round(indexBuildMs)} ms`);

    const rows: VectorBenchRow[] = [];
    rows.push(await measure(db, 'small bots, uniform', small, o.smallBotChunks, o));
    if (large.length) rows.push(await measure(db, 'large bots, clustered', large, o.largeBotChunks, o));
    if (uniformLarge.length) {
      rows.push(await measure(db, 'large bot, uniform (worst case)', uniformLarge, o.largeBotChunks, o));
    }
    if (near.length) rows.push(await measure(db, 'bot under threshold, uniform', near, o.thresholdBotChunks, o));
    return { totalChunks, indexBuildMs, rows };
  } finally {
    await db.close();
    await database.drop();
  }
}

const CENTRES = 250;
/** Spread of a clustered bot's vectors around their centre, per dimension (centres span ±0.5). */
const SPREAD = 0.6;

/**
 * Bots with one document each and `chunks` random vectors generated server-side: uniform in
 * [−0.5, 0.5]^dims, or a random centre of the bot's (kept in `bench_centres`) plus uniform noise.
 */
async function createBots(
  db: Db,
  count: number,
  chunks: number,
  dims: number,
  kind: 'uniform' | 'clustered',
): Promise<string[]> {
  const teamId = randomUUID();
  await db.query('INSERT INTO teams (id, name) VALUES ($1, $2)', [teamId, 'bench']);
  const bots: string[] = [];
  for (let i = 0; i < count; i++) {
    const botId = randomUUID();
    const documentId = randomUUID();
    await db.query('INSERT INTO bots (id, team_id, name) VALUES ($1, $2, $3)', [botId, teamId, `bench ${i}`]);
    await db.query(
      `INSERT INTO documents (id, bot_id, filename, file_type, mime_type, size_bytes, content_hash, status)
       VALUES ($1, $2, 'bench.txt', 'txt', 'text/plain', 0, $3, 'ready')`,
      [documentId, botId, documentId],
    );
    if (kind === 'clustered') {
      await db.query(
        `INSERT INTO bench_centres (bot_id, centre, v)
         SELECT $1, c, (SELECT array_agg(random() - 0.5) FROM generate_series(1, $3::int) WHERE c >= 0)
         FROM generate_series(0, $2::int - 1) AS c`,
        [botId, CENTRES, dims],
      );
    }
    for (let start = 0; start < chunks; start += 5_000) {
      const range = [start, Math.min(chunks, start + 5_000) - 1];
      await db.query(
        kind === 'uniform'
          ? `INSERT INTO chunks (bot_id, document_id, chunk_index, content, token_count, embedding, embedding_model)
             SELECT $1, $2, g, 'chunk ' || g, 2,
                    (SELECT array_agg(random() - 0.5) FROM generate_series(1, $5::int) WHERE g >= 0)::vector, 'bench'
             FROM generate_series($3::int, $4::int) AS g`
          : `INSERT INTO chunks (bot_id, document_id, chunk_index, content, token_count, embedding, embedding_model)
             SELECT $1, $2, g, 'chunk ' || g, 2,
                    (SELECT array_agg(x + (random() - 0.5) * ${SPREAD}) FROM unnest(c.v) AS x)::vector, 'bench'
             FROM generate_series($3::int, $4::int) AS g
             JOIN bench_centres c ON c.bot_id = $1 AND c.centre = (g * 7919) % ${CENTRES}`,
        kind === 'uniform' ? [botId, documentId, range[0], range[1], dims] : [botId, documentId, range[0], range[1]],
      );
    }
    bots.push(botId);
  }
  return bots;
}

/** A query like the bot's data: uniform, or near one of the bot's centres. */
async function queryVector(db: Db, botId: string, dims: number): Promise<number[]> {
  const [row] = await db.query<{ v: number[] }>(
    'SELECT v FROM bench_centres WHERE bot_id = $1 ORDER BY random() LIMIT 1',
    [botId],
  );
  if (!row) return Array.from({ length: dims }, () => Math.random() - 0.5);
  return row.v.map((x) => x + (Math.random() - 0.5) * SPREAD);
}

async function measure(
  db: Db,
  group: string,
  bots: string[],
  chunksPerBot: number,
  o: { dims: number; queriesPerGroup: number; log: (line: string) => void },
): Promise<VectorBenchRow> {
  const latencies: number[] = [];
  let found = 0;
  let full = 0;
  let cpuTicks = 0;
  const [backend] = await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  const pid = backend?.pid ?? 0;
  // Warm up: the first queries pay for catalog caches and reading the index into memory.
  for (const botId of bots.slice(0, 5))
    await searchVector(db, botId, await queryVector(db, botId, o.dims), { limit: 10 });
  for (let i = 0; i < o.queriesPerGroup; i++) {
    const botId = bots[i % bots.length]!;
    const q = await queryVector(db, botId, o.dims);
    const c0 = serverTicks(pid);
    const t0 = performance.now();
    const got = await searchVector(db, botId, q, { limit: 10 });
    latencies.push(performance.now() - t0);
    const c1 = serverTicks(pid);
    cpuTicks = c0 === undefined || c1 === undefined || Number.isNaN(cpuTicks) ? Number.NaN : cpuTicks + c1 - c0;
    const exact = await searchVector(db, botId, q, { limit: 10, index: { hnswThreshold: Number.POSITIVE_INFINITY } });
    const ids = new Set(got.map((c) => c.chunkId));
    found += exact.filter((c) => ids.has(c.chunkId)).length;
    if (got.length === 10) full++;
  }
  const { plan: p, explain } = await explainVectorSearch(db, bots[0]!, await queryVector(db, bots[0]!, o.dims));
  const usesIndex = explain.some((line) => line.includes('Index Scan using chunks_hnsw_'));
  latencies.sort((a, b) => a - b);
  const row = {
    group,
    plan: p.kind === 'hnsw' ? `hnsw ef_search ${p.efSearch}${usesIndex ? '' : ' (planner: exact)'}` : 'exact',
    bots: bots.length,
    chunksPerBot,
    queries: o.queriesPerGroup,
    p50Ms: quantile(latencies, 0.5),
    p99Ms: quantile(latencies, 0.99),
    serverCpuMs: Number.isNaN(cpuTicks) ? undefined : (cpuTicks * 10) / o.queriesPerGroup,
    recallAt10: found / (10 * o.queriesPerGroup),
    fullTopK: full / o.queriesPerGroup,
  };
  o.log(
    `${group}: p50 ${row.p50Ms.toFixed(2)} ms, p99 ${row.p99Ms.toFixed(2)} ms, recall ${row.recallAt10.toFixed(3)}`,
  );
  return row;
}

/** utime + stime of a local server process, in clock ticks (1/100 s), or undefined. */
function serverTicks(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ');
    return fields ? Number(fields[11]) + Number(fields[12]) : undefined;
  } catch {
    return undefined;
  }
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

export function formatVectorBench(result: VectorBenchResult): string {
  const header = [
    'group',
    'plan',
    'bots',
    'chunks/bot',
    'queries',
    'p50 ms',
    'p99 ms',
    'server cpu ms',
    'recall@10',
    'full top-10',
  ];
  const lines = result.rows.map((r) => [
    r.group,
    r.plan,
    String(r.bots),
    String(r.chunksPerBot),
    String(r.queries),
    r.p50Ms.toFixed(2),
    r.p99Ms.toFixed(2),
    r.serverCpuMs === undefined ? '-' : r.serverCpuMs.toFixed(2),
    r.recallAt10.toFixed(3),
    `${(r.fullTopK * 100).toFixed(0)}%`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [
    `vector search: ${result.totalChunks} chunks, partial HNSW builds ${(result.indexBuildMs / 1000).toFixed(1)} s`,
    fmt(header),
    fmt(widths.map((w) => '-'.repeat(w))),
    ...lines.map(fmt),
  ].join('\n');
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: { url: { type: 'string' }, quick: { type: 'boolean', default: false } },
  });
  const quick = values.quick
    ? {
        smallBots: 20,
        largeBots: 1,
        uniformLargeBots: 0,
        largeBotChunks: 21_000,
        thresholdBotChunks: 0,
        queriesPerGroup: 100,
      }
    : {};
  const result = await runVectorBench({
    ...(values.url ? { url: values.url } : {}),
    ...quick,
    log: (line) => console.error(line),
  });
  console.log(formatVectorBench(result));
}
