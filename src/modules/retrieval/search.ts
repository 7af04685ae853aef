import type { Db, Queryable } from '../../platform/db/db.ts';
import { badRequest } from '../../platform/errors.ts';
import { assertUuid, type SearchFilters } from './filters.ts';
import { type FusionMethod, fuseRankings, type HybridWeights } from './hybrid.ts';
import { type Bm25Params, type Candidate, lexicalRanking, searchLexical } from './lexical.ts';
import { searchVector, type VectorIndexOptions } from './vector.ts';

/**
 * The one entry point for finding a bot's chunks: vector, full-text (BM25) or hybrid (fusion of
 * both, the default). Every statement is scoped to `botId`; callers check access to the bot first.
 */
export type SearchMode = 'vector' | 'fulltext' | 'hybrid';

export interface SearchRequest {
  botId: string;
  query: string;
  /** The query's embedding from the bot's embedding model; undefined when the bot has none. */
  queryVector?: readonly number[] | undefined;
  topK: number;
  mode: SearchMode;
  filters?: SearchFilters | undefined;
  /** Hybrid only: how much each list counts. */
  weights?: HybridWeights | undefined;
  /**
   * Hits scoring below this are dropped. Scores per mode: vector = cosine similarity (−1…1),
   * fulltext = BM25 (unbounded, corpus-dependent), hybrid = fused score (0…1).
   */
  scoreThreshold?: number | undefined;
}

/** Knobs a deployment may tune; defaults are the measured ones. */
export interface RetrievalTuning {
  bm25?: Bm25Params | undefined;
  fusion?: FusionMethod | undefined;
  /** Hybrid: how many candidates each list contributes before fusion (at least topK). */
  candidates?: number | undefined;
  vectorIndex?: VectorIndexOptions | undefined;
}

export interface SearchHit {
  chunkId: string;
  documentId: string;
  filename: string;
  content: string;
  score: number;
  /** From chunk metadata `page`. */
  page?: number;
  /** From chunk metadata `section_path` (headings, outermost first), joined with " > ". */
  section?: string;
  metadata: Record<string, unknown>;
}

export const MAX_TOP_K = 1_000;
export const DEFAULT_HYBRID_CANDIDATES = 50;

export async function searchChunks(db: Db, request: SearchRequest, tuning: RetrievalTuning = {}): Promise<SearchHit[]> {
  assertUuid(request.botId, 'botId');
  const { topK } = request;
  if (!Number.isInteger(topK) || topK < 1 || topK > MAX_TOP_K) {
    throw badRequest(`topK must be an integer from 1 to ${MAX_TOP_K}`, 'topK');
  }
  const threshold = request.scoreThreshold;
  const keep = <T extends { score: number }>(ranked: T[]) =>
    (threshold === undefined ? ranked : ranked.filter((c) => c.score >= threshold)).slice(0, topK);
  if (request.mode === 'fulltext' || (request.mode === 'hybrid' && request.queryVector === undefined)) {
    return keep(await rankAndLoadLexical(db, request, tuning));
  }
  return hydrate(db, request.botId, keep(await rank(db, request, tuning)));
}

/** Full-text only (also hybrid without an embedding provider): ranks and loads in one round trip. */
async function rankAndLoadLexical(db: Db, request: SearchRequest, tuning: RetrievalTuning): Promise<SearchHit[]> {
  const ranking = lexicalRanking(request.botId, request.query, {
    limit: request.topK,
    filters: request.filters,
    bm25: tuning.bm25,
  });
  if (!ranking) return [];
  const rows = await db.query<HitRow & { score: number }>(
    `WITH ranked AS (${ranking.sql})
     SELECT c.id::text AS chunk_id, r.score, c.document_id::text AS document_id, d.filename, c.content, c.metadata
     FROM ranked r
     JOIN chunks c ON c.id = r.id::bigint AND c.bot_id = $1
     JOIN documents d ON d.id = c.document_id AND d.bot_id = c.bot_id
     ORDER BY r.score DESC, c.id`,
    ranking.params,
  );
  return rows.map((row) => toHit(row, Number(row.score)));
}

async function rank(db: Db, request: SearchRequest, tuning: RetrievalTuning): Promise<Candidate[]> {
  const { botId, query, queryVector, topK, filters } = request;
  const fulltext = (limit: number) => searchLexical(db, botId, query, { limit, filters, bm25: tuning.bm25 });
  const vector = (v: readonly number[], limit: number) =>
    searchVector(db, botId, v, { limit, filters, index: tuning.vectorIndex });

  switch (request.mode) {
    case 'fulltext':
      return fulltext(topK);
    case 'vector':
      if (queryVector === undefined) {
        throw badRequest(
          "mode 'vector' needs a query embedding, but no embedding provider is configured for this bot; use mode 'fulltext' or configure an embedding provider",
          'mode',
        );
      }
      return vector(queryVector, topK);
    case 'hybrid': {
      // Without an embedding provider, hybrid is full-text search.
      if (queryVector === undefined) return fulltext(topK);
      const depth = Math.max(topK, tuning.candidates ?? DEFAULT_HYBRID_CANDIDATES);
      const [v, f] = await Promise.all([vector(queryVector, depth), fulltext(depth)]);
      return fuseRankings(v, f, { weights: request.weights, method: tuning.fusion });
    }
    default:
      throw badRequest(`unknown search mode ${JSON.stringify(request.mode)}`, 'mode');
  }
}

interface HitRow {
  chunk_id: string;
  document_id: string;
  filename: string;
  content: string;
  metadata: Record<string, unknown> | null;
}

/** Loads content, document and metadata of the ranked chunks, keeping the ranking's order. */
async function hydrate(db: Queryable, botId: string, ranked: readonly Candidate[]): Promise<SearchHit[]> {
  if (ranked.length === 0) return [];
  const rows = await db.query<HitRow>(
    `SELECT c.id::text AS chunk_id, c.document_id::text AS document_id, d.filename, c.content, c.metadata
     FROM chunks c JOIN documents d ON d.id = c.document_id AND d.bot_id = c.bot_id
     WHERE c.bot_id = $1 AND c.id = ANY($2::bigint[])`,
    [botId, ranked.map((c) => c.chunkId)],
  );
  const byId = new Map(rows.map((r) => [r.chunk_id, r]));
  const hits: SearchHit[] = [];
  for (const { chunkId, score } of ranked) {
    const row = byId.get(chunkId);
    if (row) hits.push(toHit(row, score)); // else deleted since it was ranked
  }
  return hits;
}

/** A loaded row as a search hit: page and section come from the chunk's metadata. */
function toHit(row: HitRow, score: number): SearchHit {
  const metadata = row.metadata ?? {};
  const hit: SearchHit = {
    chunkId: row.chunk_id,
    documentId: row.document_id,
    filename: row.filename,
    content: row.content,
    score,
    metadata,
  };
  const page = Number(metadata.page);
  if (metadata.page !== undefined && metadata.page !== null && Number.isFinite(page)) hit.page = page;
  const path = metadata.section_path;
  if (Array.isArray(path) && path.length > 0) hit.section = path.map(String).join(' > ');
  else if (typeof path === 'string' && path !== '') hit.section = path;
  return hit;
}
