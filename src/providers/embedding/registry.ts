import type { Config, EmbeddingProviderName } from '../../config.ts';
import { coalesceEmbedder } from './coalesce.ts';
import { createEmbedder, type EmbedderLog } from './embedder.ts';
import { createEmbeddingProvider, type EmbeddingSettings } from './index.ts';
import type { Embedder } from './spec.ts';

/** What a bot's settings say about embeddings (all optional: the deployment default fills in). */
export interface BotEmbeddingChoice {
  provider?: EmbeddingProviderName | undefined;
  model?: string | undefined;
  dimensions?: number | undefined;
}

export interface EmbeddingRegistry {
  /** The embedder for a bot's choice, or undefined when embeddings are off (full-text only). */
  forChoice(choice?: BotEmbeddingChoice): Embedder | undefined;
}

/**
 * One embedder per (provider, model, dimensions), created on first use and shared by ingestion
 * and search, so the concurrency limit and batching span the whole process.
 */
export function createEmbeddingRegistry(
  config: EmbeddingSettings & { embedding: Config['embedding'] },
  options: { log?: EmbedderLog; coalesceWaitMs?: number } = {},
): EmbeddingRegistry {
  const cache = new Map<string, Embedder | undefined>();
  return {
    forChoice(choice = {}) {
      const provider = choice.provider ?? config.embedding.provider;
      const sameProvider = provider === config.embedding.provider;
      const model = choice.model ?? (sameProvider ? config.embedding.model : undefined);
      const dimensions = choice.dimensions ?? (sameProvider ? config.embedding.dimensions : undefined);
      const key = `${provider}|${model ?? ''}|${dimensions ?? ''}`;
      if (cache.has(key)) return cache.get(key);
      const created = createEmbeddingProvider(provider, {
        ...config,
        embedding: { ...config.embedding, model, dimensions },
      });
      let embedder: Embedder | undefined;
      if (created) {
        embedder = createEmbedder(created, {
          batchSize: config.embedding.batchSize,
          concurrency: config.embedding.concurrency,
          ...(options.log ? { log: options.log } : {}),
        });
        // One text per call (Titan): merging buys nothing, the shared concurrency cap already applies.
        if (created.maxBatchSize > 1) {
          const maxBatch = Math.min(config.embedding.batchSize, created.maxBatchSize);
          const concurrency = Math.min(
            config.embedding.concurrency,
            created.maxConcurrency ?? Number.POSITIVE_INFINITY,
          );
          embedder = coalesceEmbedder(embedder, { maxBatch, maxWaitMs: options.coalesceWaitMs ?? 5, concurrency });
        }
      }
      cache.set(key, embedder);
      return embedder;
    },
  };
}
