import { checkedResults, MAX_DOCUMENT_CHARS, postJson, type RerankHttpSettings } from './http.ts';
import type { Reranker } from './spec.ts';

/**
 * Cohere's rerank API (`POST /v1/rerank` or `/v2/rerank`) and the APIs that copied its shape:
 * Voyage (`POST /v1/rerank`), Jina, and gateways such as LiteLLM. The request is the common subset
 * `{ model, query, documents: string[] }` (no `top_n`/`top_k`, whose names differ: every document
 * is scored); the answer is read from `results` (Cohere, Jina) or `data` (Voyage), each entry
 * `{ index, relevance_score }`.
 */
export function createCohereReranker(settings: RerankHttpSettings & { model: string | undefined }): Reranker {
  const where = `${settings.url.origin}${settings.url.pathname}`;
  return {
    format: 'cohere',
    modelId: settings.model,
    async rerank(query, documents, options = {}) {
      if (documents.length === 0) return [];
      const body = {
        ...(settings.model ? { model: settings.model } : {}),
        query,
        documents: documents.map((d) => d.slice(0, MAX_DOCUMENT_CHARS)),
      };
      const answer = (await postJson(settings, body, options.signal)) as { results?: unknown; data?: unknown } | null;
      const list = Array.isArray(answer?.results) ? answer.results : Array.isArray(answer?.data) ? answer.data : [];
      return checkedResults(
        (list as Array<{ index?: unknown; relevance_score?: unknown }>).map((r) => ({
          index: r?.index,
          score: r?.relevance_score,
        })),
        documents.length,
        where,
      );
    },
  };
}
