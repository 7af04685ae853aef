import type { Db, Queryable } from '../../platform/db/db.ts';
import { badRequest } from '../../platform/errors.ts';
import { assertUuid, filterSql, hasFilters, type SearchFilters } from './filters.ts';
import type { Candidate } from './lexical.ts';

/**
 * Bot-scoped cosine search with a plan chosen per bot. One global HNSW index over every bot's
 * rows answers `WHERE bot_id = $1 ORDER BY embedding <=> $2` with incomplete, low-recall top-ks
 * (DESIGN.md "One storage model"), so there is none. Instead:
 *
 * - small bots (fewer than `hnswThreshold` embedded chunks): an exact scan of the bot's rows
 *   through the `(bot_id, …)` btree, recall 1.0;
 * - large bots: a partial HNSW index holding only that bot's rows, built by `ensureVectorIndex`
 *   once the bot crosses the threshold. Queries repeat the index's predicate with the bot id as a
 *   literal, which is what lets the planner use a partial index.
 *
 * Each index casts to the bot's dimension (the column has none, so bots using different models
 * coexist) and its predicate includes `vector_dims(embedding) = <dims>`, so a bot that is being
 * re-embedded with another model never breaks the build or the query.
 *
 * HNSW recall depends on the data (uniformly random 384-d vectors need ef_search ≈ 800 for 0.95
 * where clustered ones, like real embeddings, reach 1.0 at 200), so each index is calibrated on
 * its own bot when built: queries made from the bot's vectors are answered exactly and through
 * the index at rising `ef_search`, the smallest one reaching `recallTarget` is recorded in the
 * index's comment, and if none does — or the index is no faster than the exact scan, as on
 * uniformly random data — the bot keeps the exact plan. Recalibrated as the bot grows.
 */

export interface VectorIndexOptions {
  /** Embedded chunks from which a bot gets its own HNSW index. */
  hnswThreshold?: number | undefined;
  /** Lowest `hnsw.ef_search` for queries on such an index (raised by calibration and to the limit). */
  efSearch?: number | undefined;
  /** Recall@10 against exact search an index must show on its bot's data to be used. */
  recallTarget?: number | undefined;
  /** Calibration also requires the index to be faster than the exact scan (default true). */
  requireSpeedup?: boolean | undefined;
}

/**
 * An exact scan costs about 1 µs of server CPU per 384-d row (bench/vector-search.ts: 3.3 ms for
 * 1,000 rows with the plan lookup, 18 ms for 19,000): past ~10,000 rows it outgrows a 10 ms budget.
 * Calibration keeps a bot exact anyway when its index is not faster.
 */
export const DEFAULT_HNSW_THRESHOLD = 10_000;
/** Where calibration starts (pgvector's own default); it doubles until the recall target is met. */
export const DEFAULT_EF_SEARCH = 40;
/** For an index without calibration (built elsewhere, or its calibration failed). */
const UNCALIBRATED_EF_SEARCH = 200;
export const DEFAULT_RECALL_TARGET = 0.95;
/** pgvector's largest `hnsw.ef_search`. */
const MAX_EF_SEARCH = 1_000;
const CALIBRATION_QUERIES = 20;
/** Recalibrate when the bot has grown by half since the last calibration. */
const RECALIBRATE_GROWTH = 1.5;
/** pgvector's HNSW limits: `vector` up to 2,000 dimensions, `halfvec` up to 4,000. */
const MAX_VECTOR_INDEX_DIMS = 2_000;
const MAX_HALFVEC_INDEX_DIMS = 4_000;
const MAX_DIMS = 16_000;

export type VectorPlan =
  | { kind: 'exact'; embedded: number }
  | { kind: 'hnsw'; embedded: number; indexName: string; efSearch: number };

/** `chunks_hnsw_<bot id without dashes>_<dims>`: one per bot and dimension, at most 50 characters. */
export function vectorIndexName(botId: string, dims: number): string {
  assertUuid(botId, 'botId');
  assertDims(dims);
  return `chunks_hnsw_${botId.toLowerCase().replaceAll('-', '')}_${dims}`;
}

function assertDims(dims: number): void {
  if (!Number.isInteger(dims) || dims < 1 || dims > MAX_DIMS) {
    throw badRequest(`vector dimensions must be an integer from 1 to ${MAX_DIMS}, got ${dims}`, 'queryVector');
  }
}

/** The type an index of this dimension is built on, or undefined when pgvector cannot index it. */
function indexType(dims: number): 'vector' | 'halfvec' | undefined {
  if (dims <= MAX_VECTOR_INDEX_DIMS) return 'vector';
  if (dims <= MAX_HALFVEC_INDEX_DIMS) return 'halfvec';
  return undefined;
}

/** The indexed expression and the index's predicate; queries must repeat both verbatim. */
function indexSql(botId: string, dims: number, type: 'vector' | 'halfvec') {
  // Both values are validated (UUID, integer) before they are inlined.
  return {
    expr: `(c.embedding::${type}(${dims}))`,
    indexExpr: `(embedding::${type}(${dims}))`,
    opclass: `${type}_cosine_ops`,
    where: `c.bot_id = '${botId.toLowerCase()}' AND vector_dims(c.embedding) = ${dims}`,
    indexWhere: `bot_id = '${botId.toLowerCase()}' AND vector_dims(embedding) = ${dims}`,
  };
}

/** What calibration found, kept as JSON in the index's comment. `efSearch` null: use exact. */
export interface IndexCalibration {
  efSearch: number | null;
  recall: number;
  embedded: number;
}

interface BotVectorState {
  embedded: number;
  /** true: valid index; false: an index left invalid by a failed concurrent build; null: none. */
  indexValid: boolean | null;
  calibration: IndexCalibration | undefined;
}

async function vectorState(db: Queryable, botId: string, indexName: string): Promise<BotVectorState> {
  const rows = await db.query<{ embedded: number | string; valid: boolean | null; note: string | null }>(
    `SELECT coalesce((SELECT embedded FROM chunk_stats WHERE bot_id = $1), 0) AS embedded,
            (SELECT indisvalid AND indisready FROM pg_index WHERE indexrelid = to_regclass($2)) AS valid,
            obj_description(to_regclass($2), 'pg_class') AS note`,
    [botId, indexName],
  );
  const row = rows[0];
  return {
    embedded: Number(row?.embedded ?? 0),
    indexValid: row?.valid ?? null,
    calibration: parseCalibration(row?.note ?? null),
  };
}

function parseCalibration(note: string | null): IndexCalibration | undefined {
  if (!note) return undefined;
  try {
    const c = JSON.parse(note) as Partial<IndexCalibration>;
    if (typeof c.embedded !== 'number' || typeof c.recall !== 'number') return undefined;
    return { efSearch: typeof c.efSearch === 'number' ? c.efSearch : null, recall: c.recall, embedded: c.embedded };
  } catch {
    return undefined;
  }
}

/**
 * Which plan a query on this bot gets: HNSW only when the bot is large *and* its index is built
 * and valid; otherwise an exact scan (always correct, and cheap for small bots).
 */
export async function planVectorSearch(
  db: Queryable,
  botId: string,
  dims: number,
  options: VectorIndexOptions = {},
): Promise<VectorPlan> {
  const indexName = vectorIndexName(botId, dims);
  const state = await vectorState(db, botId, indexName);
  const threshold = options.hnswThreshold ?? DEFAULT_HNSW_THRESHOLD;
  const usable = state.embedded >= threshold && state.indexValid === true && indexType(dims) !== undefined;
  // An index whose calibration found no ef_search reaching the recall target is not used.
  if (!usable || state.calibration?.efSearch === null) return { kind: 'exact', embedded: state.embedded };
  const floor = options.efSearch ?? DEFAULT_EF_SEARCH;
  const efSearch = Math.max(state.calibration?.efSearch ?? UNCALIBRATED_EF_SEARCH, floor);
  return { kind: 'hnsw', embedded: state.embedded, indexName, efSearch };
}

export type EnsureIndexResult = 'below-threshold' | 'unsupported-dimensions' | 'exists' | 'created' | 'recalibrated';

/**
 * Builds the bot's partial HNSW index when the bot has at least `hnswThreshold` embedded chunks;
 * idempotent, safe to call after every ingestion. On PostgreSQL the build is CONCURRENTLY (other
 * bots' writes are not blocked) and an index left invalid by an interrupted build is rebuilt.
 * Set the server's `maintenance_work_mem` to a few hundred MB for fast builds of large bots.
 */
export async function ensureVectorIndex(
  db: Db,
  botId: string,
  dims: number,
  options: VectorIndexOptions = {},
): Promise<EnsureIndexResult> {
  const indexName = vectorIndexName(botId, dims);
  const type = indexType(dims);
  if (type === undefined) return 'unsupported-dimensions';
  const state = await vectorState(db, botId, indexName);
  if (state.embedded < (options.hnswThreshold ?? DEFAULT_HNSW_THRESHOLD)) return 'below-threshold';
  if (state.indexValid === true) {
    const cal = state.calibration;
    if (cal && state.embedded < cal.embedded * RECALIBRATE_GROWTH) return 'exists';
    await calibrateIndex(db, botId, dims, options);
    return 'recalibrated';
  }
  const concurrently = db.driver === 'postgres' ? 'CONCURRENTLY ' : '';
  if (state.indexValid === false) await db.query(`DROP INDEX ${concurrently}IF EXISTS ${indexName}`);
  const sql = indexSql(botId, dims, type);
  try {
    await db.query(
      `CREATE INDEX ${concurrently}IF NOT EXISTS ${indexName} ON chunks USING hnsw (${sql.indexExpr} ${sql.opclass}) WHERE ${sql.indexWhere}`,
    );
  } catch (err) {
    // Another worker created the same index at the same moment: theirs is as good as ours.
    const code = (err as { code?: string }).code;
    if (code !== '42P07' && code !== '23505') throw err;
    return 'exists';
  }
  // Not valid yet: another worker's concurrent build of this index is still running (IF NOT
  // EXISTS returned at once); that worker calibrates it when its build ends.
  if (!(await calibrateIndex(db, botId, dims, options))) return 'exists';
  return 'created';
}

/**
 * The bot's chunks nearest to `vector` by cosine distance, best first, scored by cosine
 * similarity (1 − distance). With filters on an HNSW bot the index is scanned iteratively
 * (pgvector 0.8 `hnsw.iterative_scan`), and a short result falls back to the exact scan.
 */
export async function searchVector(
  db: Db,
  botId: string,
  vector: readonly number[],
  options: { limit: number; filters?: SearchFilters | undefined; index?: VectorIndexOptions | undefined },
): Promise<Candidate[]> {
  assertUuid(botId, 'botId');
  const dims = vector.length;
  assertDims(dims);
  if (!vector.every(Number.isFinite)) throw badRequest('queryVector must contain only finite numbers', 'queryVector');
  if (options.limit <= 0) return [];
  const literal = `[${vector.join(',')}]`;
  const plan = await planVectorSearch(db, botId, dims, options.index);
  if (plan.kind === 'hnsw') {
    const hits = await searchHnsw(db, botId, literal, dims, plan.efSearch, options);
    if (hits.length >= Math.min(options.limit, hasFilters(options.filters) ? options.limit : plan.embedded))
      return hits;
  }
  return searchExact(db, botId, literal, dims, options);
}

interface Statement {
  sql: string;
  params: unknown[];
}

function exactStatement(
  botId: string,
  literal: string,
  dims: number,
  limit: number,
  filters?: SearchFilters,
): Statement {
  const filter = filterSql(filters, 5);
  // The distance is computed once (ORDER BY its output column). This can never match an HNSW
  // index: the ordering expression has no cast, and every index is built on a cast.
  return {
    sql: `SELECT c.id::text AS id, c.embedding <=> $2::vector AS distance
     FROM chunks c
     WHERE c.bot_id = $1 AND c.embedding IS NOT NULL AND vector_dims(c.embedding) = $3${filter.sql}
     ORDER BY distance, c.id
     LIMIT $4`,
    params: [botId, literal, dims, limit, ...filter.params],
  };
}

function hnswStatement(
  botId: string,
  literal: string,
  dims: number,
  limit: number,
  filters?: SearchFilters,
): Statement {
  const type = indexType(dims) ?? 'vector';
  const sql = indexSql(botId, dims, type);
  const filter = filterSql(filters, 3);
  return {
    sql: `SELECT c.id::text AS id, ${sql.expr} <=> $1::${type}(${dims}) AS distance
     FROM chunks c
     WHERE ${sql.where}${filter.sql}
     ORDER BY distance
     LIMIT $2`,
    params: [literal, limit, ...filter.params],
  };
}

function toCandidates(rows: { id: string; distance: number | string }[]): Candidate[] {
  return rows.map((r) => ({ chunkId: r.id, score: 1 - Number(r.distance) }));
}

async function searchExact(
  db: Queryable,
  botId: string,
  literal: string,
  dims: number,
  options: { limit: number; filters?: SearchFilters | undefined },
): Promise<Candidate[]> {
  const st = exactStatement(botId, literal, dims, options.limit, options.filters);
  return toCandidates(await db.query<{ id: string; distance: number }>(st.sql, st.params));
}

async function searchHnsw(
  db: Db,
  botId: string,
  literal: string,
  dims: number,
  efSearch: number,
  options: { limit: number; filters?: SearchFilters | undefined },
): Promise<Candidate[]> {
  const st = hnswStatement(botId, literal, dims, options.limit, options.filters);
  return withHnswSettings(db, efSearch, options, async (tx) =>
    toCandidates(await tx.query<{ id: string; distance: number }>(st.sql, st.params)),
  );
}

/** Runs `fn` in a transaction whose HNSW scans use `efSearch` (and iterative scans under filters). */
function withHnswSettings<T>(
  db: Db,
  efSearch: number,
  options: { limit: number; filters?: SearchFilters | undefined },
  fn: (tx: Queryable) => Promise<T>,
): Promise<T> {
  const ef = String(Math.min(1000, Math.max(efSearch, options.limit)));
  return db.transaction(async (tx) => {
    // With filters, keep scanning the graph until enough rows pass them, in exact distance order.
    const iterative = hasFilters(options.filters) ? 'strict_order' : 'off';
    await tx.query(`SELECT set_config('hnsw.ef_search', $1, true), set_config('hnsw.iterative_scan', $2, true)`, [
      ef,
      iterative,
    ]);
    return fn(tx);
  });
}

/**
 * Measures the bot's index against exact search and records the smallest `ef_search` (from the
 * configured one, doubling up to pgvector's 1,000) whose recall@10 reaches the target while the
 * index is still faster than the exact scan, or null (serve the bot exactly). Does nothing and
 * returns undefined while the index is not (yet) valid.
 * Queries are midpoints of random pairs of the bot's vectors: inside the data like real queries,
 * but never a stored vector (which any index finds). Exact and index searches are timed in turns,
 * query by query, so a change in machine load does not favour either.
 */
export async function calibrateIndex(
  db: Db,
  botId: string,
  dims: number,
  options: VectorIndexOptions = {},
): Promise<IndexCalibration | undefined> {
  const indexName = vectorIndexName(botId, dims);
  const target = options.recallTarget ?? DEFAULT_RECALL_TARGET;
  if ((await vectorState(db, botId, indexName)).indexValid !== true) return undefined;
  const rows = await db.query<{ e: string }>(
    `SELECT embedding::text AS e FROM chunks
     WHERE bot_id = $1 AND embedding IS NOT NULL AND vector_dims(embedding) = $2
     ORDER BY random() LIMIT $3`,
    [botId, dims, CALIBRATION_QUERIES * 2],
  );
  const sample = rows.map((r) => JSON.parse(r.e) as number[]);
  const queries: string[] = [];
  for (let i = 0; i + 1 < sample.length; i += 2) {
    const a = sample[i]!;
    const b = sample[i + 1]!;
    queries.push(`[${a.map((x, j) => (x + b[j]!) / 2).join(',')}]`);
  }
  const exact: Candidate[][] = [];
  for (const q of queries) exact.push(await searchExact(db, botId, q, dims, { limit: 10 }));
  const steps: number[] = [];
  for (let ef = options.efSearch ?? DEFAULT_EF_SEARCH; ef < MAX_EF_SEARCH; ef *= 2) steps.push(ef);
  steps.push(MAX_EF_SEARCH);

  const embedded = (await vectorState(db, botId, indexName)).embedded;
  let result: IndexCalibration = { efSearch: null, recall: 0, embedded };
  for (const ef of steps) {
    let found = 0;
    let wanted = 0;
    let exactMs = 0;
    let hnswMs = 0;
    for (const [i, q] of queries.entries()) {
      const t0 = performance.now();
      await searchExact(db, botId, q, dims, { limit: 10 });
      const t1 = performance.now();
      const got = new Set((await searchHnsw(db, botId, q, dims, ef, { limit: 10 })).map((c) => c.chunkId));
      exactMs += t1 - t0;
      hnswMs += performance.now() - t1;
      wanted += exact[i]!.length;
      found += exact[i]!.filter((c) => got.has(c.chunkId)).length;
    }
    result = { efSearch: null, recall: wanted === 0 ? 1 : found / wanted, embedded };
    // The index must also beat the exact scan it replaces; a larger ef_search is only slower.
    if (options.requireSpeedup !== false && hnswMs >= exactMs) break;
    if (result.recall >= target) {
      result.efSearch = ef;
      break;
    }
  }
  // Only numbers and null: safe to inline (COMMENT takes no parameters).
  await db.query(`COMMENT ON INDEX ${indexName} IS '${JSON.stringify(result)}'`);
  return result;
}

/** The plan and EXPLAIN output of the statement `searchVector` would run on this bot now. */
export async function explainVectorSearch(
  db: Db,
  botId: string,
  vector: readonly number[],
  options: { limit?: number; filters?: SearchFilters; index?: VectorIndexOptions } = {},
): Promise<{ plan: VectorPlan; explain: string[] }> {
  const dims = vector.length;
  const plan = await planVectorSearch(db, botId, dims, options.index);
  const literal = `[${vector.join(',')}]`;
  const limit = options.limit ?? 10;
  const explain = async (tx: Queryable, st: Statement) =>
    (await tx.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${st.sql}`, st.params)).map((r) => r['QUERY PLAN']);
  if (plan.kind === 'exact') {
    return { plan, explain: await explain(db, exactStatement(botId, literal, dims, limit, options.filters)) };
  }
  const st = hnswStatement(botId, literal, dims, limit, options.filters);
  return { plan, explain: await withHnswSettings(db, plan.efSearch, { limit, ...options }, (tx) => explain(tx, st)) };
}
