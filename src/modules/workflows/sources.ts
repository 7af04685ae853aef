import type { RetrievedChunk } from './workflow-deps.ts';

/** A cited passage, in the API's shape (the original's `sources` entries). */
export interface Source {
  document_id: string;
  chunk_id: string | number;
  filename: string;
  content: string;
  score: number;
  page?: number;
  section?: string;
}

export function sourceFromChunk(chunk: RetrievedChunk): Source {
  const source: Source = {
    document_id: chunk.documentId,
    chunk_id: chunk.chunkId,
    filename: chunk.filename,
    content: chunk.content,
    score: chunk.score,
  };
  if (chunk.page !== undefined) source.page = chunk.page;
  if (chunk.section !== undefined) source.section = chunk.section;
  return source;
}

/**
 * Reads a variable as a list of sources, keeping only entries with the fields a source needs, so a
 * reference to something else yields nothing rather than a malformed citation.
 */
export function toSources(value: unknown): Source[] {
  if (!Array.isArray(value)) return [];
  const out: Source[] = [];
  for (const item of value) {
    if (item === null || typeof item !== 'object') continue;
    const s = item as Record<string, unknown>;
    const chunkId = s.chunk_id;
    if (typeof s.content !== 'string' || (typeof chunkId !== 'string' && typeof chunkId !== 'number')) continue;
    const source: Source = {
      document_id: typeof s.document_id === 'string' ? s.document_id : '',
      chunk_id: chunkId,
      filename: typeof s.filename === 'string' ? s.filename : '',
      content: s.content,
      score: typeof s.score === 'number' ? s.score : 0,
    };
    if (typeof s.page === 'number') source.page = s.page;
    if (typeof s.section === 'string') source.section = s.section;
    out.push(source);
  }
  return out;
}

/** Concatenates lists of sources, keeping the first of each chunk. */
export function mergeSources(lists: readonly Source[][]): Source[] {
  const seen = new Set<string>();
  const out: Source[] = [];
  for (const list of lists) {
    for (const s of list) {
      const key = `${s.document_id}\u0000${String(s.chunk_id)}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(s);
    }
  }
  return out;
}
