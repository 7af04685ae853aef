import type { Logger } from 'pino';
import type { Config } from '../../config.ts';
import type { Db } from '../../platform/db/db.ts';
import { AppError } from '../../platform/errors.ts';
import type { EmbeddingRegistry } from '../../providers/embedding/registry.ts';
import type { LlmRegistry } from '../../providers/llm/registry.ts';
import type { BotRow } from '../bots/repo.ts';
import type { SearchFilters } from '../retrieval/filters.ts';
import { type SearchMode, searchChunks } from '../retrieval/search.ts';
import type { LlmMeter } from './llm-meter.ts';
import { WorkflowNodeError } from './node-definition.ts';
import type {
  DnsLookup,
  RetrievalFilters,
  RetrievedChunk,
  RetrieveOptions,
  WorkflowDeps,
  WorkflowLimits,
} from './workflow-deps.ts';

/**
 * Turns the product's infrastructure into what the engine needs for one bot's run: retrieval on
 * that bot only (its chunks, its embedding model), the operator's LLMs with the bot's own choice
 * as the default, and the operator's budgets and network rules. The engine never sees a database
 * or a registry, so it runs the same in chat, in a test run and in its unit tests.
 */
export interface EngineInfrastructure {
  db: Db;
  embeddings: Pick<EmbeddingRegistry, 'forChoice'>;
  llm: Pick<LlmRegistry, 'resolve'>;
  limits: Partial<WorkflowLimits>;
  log: Pick<Logger, 'warn'>;
  /** Replaces http_request's built-in client (an egress proxy); leave unset to pin checked addresses. */
  fetch?: typeof fetch | undefined;
  dnsLookup?: DnsLookup | undefined;
}

/** The engine's limits from the WORKFLOW_* settings; the rest keep the engine's defaults. */
export function workflowLimits(config: Config['workflow']): Partial<WorkflowLimits> {
  return {
    maxRunMs: config.maxRunMs,
    maxSteps: config.maxSteps,
    allowPrivateNetwork: config.allowPrivateNetwork,
    allowedPrivateNetworks: [...config.allowedPrivateNetworks],
    httpTimeoutMs: config.httpTimeoutMs,
    httpMaxResponseBytes: config.httpMaxResponseBytes,
  };
}

export function createEngineDeps(
  infra: EngineInfrastructure,
  bot: Pick<BotRow, 'id' | 'settings'>,
  meter?: LlmMeter,
): WorkflowDeps {
  return {
    retrieve: (botId, query, options) => retrieveForBot(infra, bot, botId, query, options),
    llm: {
      resolve(choice) {
        // A node without its own choice uses the bot's model, like the plain RAG pipeline.
        const own = choice?.provider !== undefined || choice?.model !== undefined;
        const wanted = own ? choice : bot.settings.llm;
        try {
          const model = infra.llm.resolve(wanted && { provider: wanted.provider, model: wanted.model });
          return model && meter ? meter.wrap(model) : model;
        } catch (err) {
          if (err instanceof AppError) {
            throw new WorkflowNodeError('llm_unavailable', `The language model is not available: ${err.message}`);
          }
          throw err;
        }
      },
    },
    fetch: infra.fetch,
    dnsLookup: infra.dnsLookup,
    limits: infra.limits,
  };
}

async function retrieveForBot(
  infra: EngineInfrastructure,
  bot: Pick<BotRow, 'id' | 'settings'>,
  botId: string,
  query: string,
  options: RetrieveOptions,
): Promise<RetrievedChunk[]> {
  // The engine passes the run's bot id back; anything else would be a bug, never another bot's data.
  if (botId !== bot.id) throw new WorkflowNodeError('retrieval_failed', 'A run may only search its own bot');
  const { mode, vector } = await embedQuery(infra, bot, query, options.mode, options.signal);
  options.signal?.throwIfAborted();
  const weight = bot.settings.retrieval?.vector_weight;
  const hits = await searchChunks(infra.db, {
    botId: bot.id,
    query,
    queryVector: vector,
    topK: options.topK,
    mode,
    filters: toSearchFilters(options.filters),
    weights: weight === undefined ? undefined : { vector: weight, fulltext: 1 - weight },
  });
  return hits.map((h) => ({
    chunkId: h.chunkId,
    documentId: h.documentId,
    filename: h.filename,
    content: h.content,
    score: h.score,
    page: h.page,
    section: h.section,
  }));
}

/** The query's vector from the bot's embedding model; hybrid falls back to full-text without one. */
async function embedQuery(
  infra: EngineInfrastructure,
  bot: Pick<BotRow, 'id' | 'settings'>,
  query: string,
  mode: SearchMode,
  signal: AbortSignal | undefined,
): Promise<{ mode: SearchMode; vector: number[] | undefined }> {
  if (mode === 'fulltext') return { mode, vector: undefined };
  const embedder = infra.embeddings.forChoice(bot.settings.embedding);
  if (!embedder) {
    if (mode === 'vector') {
      throw new WorkflowNodeError(
        'embedding_unavailable',
        "mode 'vector' needs an embedding provider, but none is configured for this bot; use 'fulltext' or 'hybrid'",
      );
    }
    return { mode: 'fulltext', vector: undefined };
  }
  try {
    const [vector] = await embedder.embed([query], { purpose: 'query', ...(signal ? { signal } : {}) });
    return { mode, vector };
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    if (mode === 'vector') {
      throw new WorkflowNodeError('embedding_error', `The embedding provider failed: ${(err as Error).message}`, {
        cause: err,
      });
    }
    infra.log.warn({ bot_id: bot.id, err: (err as Error).message }, 'query embedding failed; searching full-text');
    return { mode: 'fulltext', vector: undefined };
  }
}

function toSearchFilters(filters: RetrievalFilters | undefined): SearchFilters | undefined {
  if (!filters) return undefined;
  const out: SearchFilters = {};
  if (filters.document_ids !== undefined) out.documentIds = filters.document_ids;
  if (filters.file_types !== undefined) out.fileTypes = filters.file_types;
  if (filters.metadata !== undefined && Object.keys(filters.metadata).length > 0) out.metadata = filters.metadata;
  return Object.keys(out).length > 0 ? out : undefined;
}
