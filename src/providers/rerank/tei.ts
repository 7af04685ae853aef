import { checkedResults, MAX_DOCUMENT_CHARS, postJson, type RerankHttpSettings } from './http.ts';
import type { Reranker } from './spec.ts';

/**
 * Hugging Face Text Embeddings Inference (`POST /rerank`) serving a cross-encoder: the request is
 * `{ query, texts, truncate }`, the answer a list of `{ index, score }` (sigmoid scores, 0…1, since
 * `raw_scores` is left false). TEI serves one model, so none is sent.
 */
export function createTeiReranker(settings: RerankHttpSettings): Reranker {
  const where = `${settings.url.origin}${settings.url.pathname}`;
  return {
    format: 'tei',
    modelId: undefined,
    async rerank(query, documents, options = {}) {
      if (documents.length === 0) return [];
      const body = { query, texts: documents.map((d) => d.slice(0, MAX_DOCUMENT_CHARS)), truncate: true };
      const answer = await postJson(settings, body, options.signal);
      const list = Array.isArray(answer) ? answer : [];
      return checkedResults(
        (list as Array<{ index?: unknown; score?: unknown }>).map((r) => ({ index: r?.index, score: r?.score })),
        documents.length,
        where,
      );
    },
  };
}
