import { z } from 'zod';
import { Id } from '../../platform/http/schemas.ts';
import { type App, type Authenticate, BEARER } from '../../platform/http/types.ts';
import { type RetrievalService, sourceDto } from './service.ts';

/** Request filters, in the same shape as a bot's `settings.retrieval.filters`. */
export const FiltersSchema = z
  .object({
    document_ids: z.array(Id).max(1000).optional(),
    file_types: z.array(z.string().trim().min(1).max(20)).max(20).optional(),
    metadata: z
      .record(z.string().max(100), z.unknown())
      .refine((m) => Object.keys(m).length <= 20, 'at most 20 metadata conditions')
      .refine((m) => JSON.stringify(m).length <= 4000, 'metadata conditions too large')
      .optional(),
  })
  .describe('Narrows the search; combined with the bot’s own filters (both must hold)');

export const SourceSchema = z.object({
  document_id: Id,
  chunk_id: z.string(),
  filename: z.string(),
  content: z.string(),
  score: z.number(),
  page: z.number().optional(),
  section: z.string().optional(),
});

const SearchMode = z.enum(['vector', 'fulltext', 'hybrid']);

export function retrievalRoutes(app: App, deps: { retrieval: RetrievalService; authenticate: Authenticate }): void {
  const { retrieval, authenticate } = deps;

  app.post('/api/v1/search', {
    schema: {
      tags: ['search'],
      security: BEARER,
      summary: "Search a bot's documents (vector, full-text or hybrid)",
      description:
        "Defaults come from the bot's retrieval settings. `mode: hybrid` runs as full-text when the bot has no " +
        'embedding provider (the answer says which mode ran). Scores: vector = cosine similarity, fulltext = BM25, ' +
        'hybrid = fused 0…1, reranked = the rerank model’s score.',
      body: z.object({
        bot_id: Id,
        query: z.string().trim().min(1).max(4000),
        top_k: z.number().int().min(1).max(100).optional(),
        mode: SearchMode.optional(),
        filters: FiltersSchema.optional(),
        score_threshold: z.number().min(-1).max(1000).optional(),
        rerank: z.boolean().optional(),
      }),
      response: {
        200: z.object({
          results: z.array(SourceSchema),
          mode: SearchMode,
          reranked: z.boolean(),
        }),
      },
    },
    handler: async (req) => {
      const result = await retrieval.search(await authenticate(req, { sessionCheckedByAccess: true }), req.body);
      return { results: result.hits.map(sourceDto), mode: result.mode, reranked: result.reranked };
    },
  });
}
