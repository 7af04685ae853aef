import { z } from 'zod';
import { defineNode } from '../node-definition.ts';
import { type Source, sourceFromChunk } from '../sources.ts';
import type { RetrievalFilters } from '../workflow-deps.ts';

const MetadataValue = z.union([
  z.string().max(1000),
  z.number(),
  z.boolean(),
  z.array(z.union([z.string().max(1000), z.number()])).max(100),
]);

const KnowledgeConfig = z.object({
  /** What to search for, usually `{{start.message}}`. */
  query: z.string().min(1).max(4000),
  top_k: z.number().int().min(1).max(50).default(5),
  mode: z.enum(['vector', 'fulltext', 'hybrid']).default('hybrid'),
  /** Passages scoring below this are dropped. */
  score_threshold: z.number().min(0).max(1).optional(),
  /** Same shape as a bot's retrieval filters; string metadata values may use {{…}}. */
  filters: z
    .object({
      document_ids: z.array(z.uuid()).max(1000).optional(),
      file_types: z.array(z.string().max(20)).max(20).optional(),
      metadata: z.record(z.string().max(100), MetadataValue).optional(),
    })
    .optional(),
});

/** Retrieves passages from this bot's knowledge base (its documents only). */
export const knowledgeNode = defineNode({
  type: 'knowledge',
  description: "Searches the bot's documents: context text and sources",
  configSchema: KnowledgeConfig,
  outputs: () => ({ result: 'string', sources: 'array[object]', count: 'number' }),
  uses: (c) => [
    { field: 'query', kind: 'template', text: c.query },
    ...Object.entries(c.filters?.metadata ?? {}).flatMap(([key, value]) =>
      typeof value === 'string' ? [{ field: `filters.metadata.${key}`, kind: 'template' as const, text: value }] : [],
    ),
  ],
  async run(config, ctx) {
    const query = ctx.render(config.query).trim();
    const filters: RetrievalFilters | undefined = config.filters && {
      ...config.filters,
      metadata: config.filters.metadata && renderMetadata(config.filters.metadata, ctx.render),
    };
    const inputs = { query, top_k: config.top_k, mode: config.mode, filters };
    if (query === '') return { inputs, outputs: { result: '', sources: [], count: 0 } };
    const chunks = await ctx.deps.retrieve(ctx.botId, query, {
      topK: config.top_k,
      mode: config.mode,
      filters,
      signal: ctx.signal,
    });
    const threshold = config.score_threshold;
    const sources = chunks
      .filter((c) => threshold === undefined || c.score >= threshold)
      .slice(0, config.top_k)
      .map(sourceFromChunk);
    return { inputs, outputs: { result: formatContext(sources), sources, count: sources.length } };
  },
});

function renderMetadata(metadata: Record<string, unknown>, render: (t: string) => string): Record<string, unknown> {
  return Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, typeof v === 'string' ? render(v) : v]));
}

/** Numbered passages with where they come from, the way the plain RAG pipeline shows context. */
export function formatContext(sources: readonly Source[]): string {
  return sources
    .map((s, i) => {
      const where = [s.filename, s.page !== undefined ? `p. ${s.page}` : undefined, s.section]
        .filter(Boolean)
        .join(', ');
      return `[${i + 1}] ${where}\n${s.content.trim()}`;
    })
    .join('\n\n');
}
