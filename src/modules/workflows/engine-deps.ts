import type { Logger } from 'pino';
import type { Config } from '../../config.ts';
import { AppError } from '../../platform/errors.ts';
import type { LlmRegistry } from '../../providers/llm/registry.ts';
import type { BotRow } from '../bots/repo.ts';
import type { RetrievalService } from '../retrieval/service.ts';
import type { LlmMeter } from './llm-meter.ts';
import { WorkflowNodeError } from './node-definition.ts';
import type { DnsLookup, RetrievedChunk, RetrieveOptions, WorkflowDeps, WorkflowLimits } from './workflow-deps.ts';

/**
 * Turns the product's infrastructure into what the engine needs for one bot's run: retrieval on
 * that bot only (its chunks, its embedding model), the operator's LLMs with the bot's own choice
 * as the default, and the operator's budgets and network rules. The engine never sees a database
 * or a registry, so it runs the same in chat, in a test run and in its unit tests.
 */
export interface EngineInfrastructure {
  retrieval: Pick<RetrievalService, 'retrieve'>;
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
  try {
    // The same retrieval as chat and search: the bot's filters (which the node's only narrow),
    // score threshold, reranking and embedding model.
    const { hits } = await infra.retrieval.retrieve(bot, query, {
      topK: options.topK,
      mode: options.mode,
      filters: options.filters,
      signal: options.signal,
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
  } catch (err) {
    if (err instanceof AppError && err.code === 'provider_unavailable') {
      throw new WorkflowNodeError('embedding_unavailable', err.message);
    }
    if (err instanceof AppError && err.code === 'provider_error') {
      throw new WorkflowNodeError('embedding_error', err.message, { cause: err });
    }
    throw err;
  }
}
