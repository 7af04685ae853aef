import type { Logger } from 'pino';
import type { Ctx } from '../../platform/context.ts';
import type { Db } from '../../platform/db/db.ts';
import { AppError, badRequest } from '../../platform/errors.ts';
import type { EmbeddingRegistry } from '../../providers/embedding/registry.ts';
import type { Reranker } from '../../providers/rerank/index.ts';
import type { BotRow } from '../bots/repo.ts';
import type { BotSettings } from '../bots/settings.ts';
import type { Access } from '../teams/access.ts';
import type { SearchFilters } from './filters.ts';
import { type RetrievalTuning, type SearchHit, type SearchMode, searchChunks } from './search.ts';

/**
 * Search as the product offers it: the caller's access first, the bot's retrieval settings as
 * defaults, the query embedded by the bot's own embedding model, optional reranking. Used by
 * `POST /search`, by chat and (through `retrieve`) by workflows.
 */

export const DEFAULT_TOP_K = 5;
export const DEFAULT_MODE: SearchMode = 'hybrid';
/** Candidates handed to the reranker per result wanted, and at most. */
const RERANK_DEPTH_FACTOR = 4;
const MAX_RERANK_CANDIDATES = 100;

/** Filters in the API's snake_case, as in a bot's settings. */
export interface FiltersInput {
  document_ids?: string[] | undefined;
  file_types?: string[] | undefined;
  metadata?: Record<string, unknown> | undefined;
}

export interface SearchInput {
  bot_id: string;
  query: string;
  top_k?: number | undefined;
  mode?: SearchMode | undefined;
  filters?: FiltersInput | undefined;
  score_threshold?: number | undefined;
  /** true: rerank (400 when no rerank API is configured); false: don't; absent: the bot's setting. */
  rerank?: boolean | undefined;
}

export interface RetrieveOptions {
  topK?: number | undefined;
  mode?: SearchMode | undefined;
  /** Narrows the bot's own filters (never widens them). */
  filters?: FiltersInput | undefined;
  scoreThreshold?: number | undefined;
  rerank?: boolean | undefined;
  signal?: AbortSignal | undefined;
}

export interface RetrievalResult {
  hits: SearchHit[];
  /** The mode that actually ran: hybrid becomes fulltext when the bot has no embedding model. */
  mode: SearchMode;
  reranked: boolean;
}

export interface RetrievalService {
  /** `POST /search`: checks the caller may use the bot, then retrieves. */
  search(ctx: Ctx, input: SearchInput): Promise<RetrievalResult>;
  /** Retrieves from a bot whose access the caller already checked (chat, workflows). */
  retrieve(bot: Pick<BotRow, 'id' | 'settings'>, query: string, options?: RetrieveOptions): Promise<RetrievalResult>;
}

export interface RetrievalDeps {
  db: Db;
  access: Access;
  embeddings: EmbeddingRegistry;
  reranker?: Reranker | undefined;
  tuning?: RetrievalTuning | undefined;
  log: Pick<Logger, 'warn'>;
}

export function createRetrievalService(deps: RetrievalDeps): RetrievalService {
  const { db, embeddings, reranker } = deps;

  async function retrieve(
    bot: Pick<BotRow, 'id' | 'settings'>,
    query: string,
    options: RetrieveOptions = {},
  ): Promise<RetrievalResult> {
    const settings = bot.settings.retrieval ?? {};
    const topK = options.topK ?? settings.top_k ?? DEFAULT_TOP_K;
    const requested = options.mode ?? settings.mode ?? DEFAULT_MODE;
    const threshold = options.scoreThreshold ?? settings.score_threshold;
    const filters = toSearchFilters(mergeFilters(settings.filters, options.filters));
    if (options.rerank === true && !reranker) {
      throw badRequest('rerank was requested, but no rerank API is configured on this server (RERANK_URL)', 'rerank');
    }
    const rerank = Boolean(reranker) && (options.rerank ?? settings.rerank ?? false);

    const { vector, mode } = await embedQuery(bot, query, requested, options.signal);
    const depth = rerank ? Math.min(MAX_RERANK_CANDIDATES, Math.max(topK, topK * RERANK_DEPTH_FACTOR)) : topK;
    const weight = settings.vector_weight;
    const hits = await searchChunks(
      db,
      {
        botId: bot.id,
        query,
        queryVector: vector,
        topK: depth,
        mode,
        filters,
        weights: weight === undefined ? undefined : { vector: weight, fulltext: 1 - weight },
        // With reranking, the threshold applies to the reranker's scores instead.
        scoreThreshold: rerank ? undefined : threshold,
      },
      deps.tuning,
    );
    if (!rerank || !reranker || hits.length === 0) return { hits: hits.slice(0, topK), mode, reranked: false };

    try {
      const order = await reranker.rerank(
        query,
        hits.map((h) => h.content),
        { signal: options.signal },
      );
      const reranked = order
        .filter((r) => threshold === undefined || r.score >= threshold)
        .slice(0, topK)
        .map((r) => ({ ...(hits[r.index] as SearchHit), score: r.score }));
      return { hits: reranked, mode, reranked: true };
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      // Reranking improves an order we already have: when it fails, keep the engine's.
      deps.log.warn({ bot_id: bot.id, err: (error as Error).message }, 'rerank failed; keeping the search order');
      const kept = threshold === undefined ? hits : hits.filter((h) => h.score >= threshold);
      return { hits: kept.slice(0, topK), mode, reranked: false };
    }
  }

  /** The query's vector from the bot's embedding model, and the mode that can run with it. */
  async function embedQuery(
    bot: Pick<BotRow, 'id' | 'settings'>,
    query: string,
    mode: SearchMode,
    signal: AbortSignal | undefined,
  ): Promise<{ vector: number[] | undefined; mode: SearchMode }> {
    if (mode === 'fulltext') return { vector: undefined, mode };
    const embedder = embeddings.forChoice(bot.settings.embedding);
    if (!embedder) {
      if (mode === 'vector') {
        throw new AppError(
          'provider_unavailable',
          "mode 'vector' needs an embedding provider, but none is configured for this bot; use mode 'fulltext' or 'hybrid', or set EMBEDDING_PROVIDER",
        );
      }
      return { vector: undefined, mode: 'fulltext' };
    }
    try {
      const [vector] = await embedder.embed([query], { purpose: 'query', ...(signal ? { signal } : {}) });
      return { vector, mode };
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (mode === 'vector') {
        throw new AppError('provider_error', `The embedding provider failed: ${(error as Error).message}`, {
          cause: error,
        });
      }
      // Hybrid still has its lexical half: answer from it rather than fail the whole search.
      deps.log.warn({ bot_id: bot.id, err: (error as Error).message }, 'query embedding failed; searching full-text');
      return { vector: undefined, mode: 'fulltext' };
    }
  }

  return {
    retrieve,
    async search(ctx, input) {
      const { bot } = await deps.access.requireBot(ctx, input.bot_id, 'use');
      return retrieve(bot, input.query, {
        topK: input.top_k,
        mode: input.mode,
        filters: input.filters,
        scoreThreshold: input.score_threshold,
        rerank: input.rerank,
      });
    },
  };
}

type BotFilters = NonNullable<NonNullable<BotSettings['retrieval']>['filters']>;

/**
 * A request's filters narrow the bot's configured ones: document ids and file types are
 * intersected, metadata conditions are all required. A key required with two different values
 * can match nothing, which `toSearchFilters` expresses as an empty document list.
 */
export function mergeFilters(
  base: BotFilters | FiltersInput | undefined,
  extra: FiltersInput | undefined,
): FiltersInput & { impossible?: boolean } {
  const out: FiltersInput & { impossible?: boolean } = {};
  const intersect = (a: string[] | undefined, b: string[] | undefined, fold: (s: string) => string) => {
    if (a === undefined) return b;
    if (b === undefined) return a;
    const keep = new Set(b.map(fold));
    return a.filter((x) => keep.has(fold(x)));
  };
  const documentIds = intersect(base?.document_ids, extra?.document_ids, (s) => s.toLowerCase());
  const fileTypes = intersect(
    base?.file_types?.map(canonicalFileType),
    extra?.file_types?.map(canonicalFileType),
    (s) => s,
  );
  if (documentIds !== undefined) out.document_ids = documentIds;
  if (fileTypes !== undefined) out.file_types = fileTypes;
  if (base?.metadata || extra?.metadata) {
    const metadata: Record<string, unknown> = { ...(base?.metadata ?? {}) };
    for (const [key, value] of Object.entries(extra?.metadata ?? {})) {
      if (key in metadata && JSON.stringify(metadata[key]) !== JSON.stringify(value)) out.impossible = true;
      metadata[key] = value;
    }
    out.metadata = metadata;
  }
  return out;
}

function toSearchFilters(filters: FiltersInput & { impossible?: boolean }): SearchFilters | undefined {
  if (filters.impossible) return { documentIds: [] };
  const out: SearchFilters = {};
  if (filters.document_ids !== undefined) out.documentIds = filters.document_ids;
  if (filters.file_types !== undefined) out.fileTypes = [...new Set(filters.file_types.map(canonicalFileType))];
  if (filters.metadata !== undefined && Object.keys(filters.metadata).length > 0) out.metadata = filters.metadata;
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Documents store `text`, `markdown`, `html`…; callers often say `txt`, `md`, `htm`. */
const FILE_TYPE_ALIASES: Record<string, string> = { txt: 'text', md: 'markdown', markdown: 'markdown', htm: 'html' };

function canonicalFileType(type: string): string {
  const lower = type.trim().toLowerCase().replace(/^\./, '');
  return FILE_TYPE_ALIASES[lower] ?? lower;
}

/** A hit in the API's shape (`sources` entries and search results). */
export interface SourceDto {
  document_id: string;
  chunk_id: string;
  filename: string;
  content: string;
  score: number;
  page?: number;
  section?: string;
}

export function sourceDto(hit: SearchHit): SourceDto {
  return {
    document_id: hit.documentId,
    chunk_id: hit.chunkId,
    filename: hit.filename,
    content: hit.content,
    score: hit.score,
    ...(hit.page !== undefined ? { page: hit.page } : {}),
    ...(hit.section !== undefined ? { section: hit.section } : {}),
  };
}
