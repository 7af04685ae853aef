import type { TermFrequencies } from '../retrieval/tokenize.ts';
import { termFrequencies } from '../retrieval/tokenize.ts';
import { chunkDocument, type TextChunk } from './chunk/index.ts';
import { DocumentParseError, type FileType, parseDocument } from './parse/index.ts';

/** What `prepareDocument` needs: the uploaded bytes, their type, and the bot's chunk settings. */
export interface PrepareInput {
  bytes: Uint8Array;
  fileType: FileType;
  chunkSize: number;
  chunkOverlap: number;
}

/** A chunk with its BM25 terms already counted, ready to store. */
export interface PreparedChunk extends TextChunk {
  terms: TermFrequencies;
}

/**
 * The CPU-bound half of ingestion — parse, chunk, count BM25 terms — as one pure step, done
 * before any write so no transaction waits on it. Throws DocumentParseError when the file yields
 * no text.
 */
export async function prepareDocument(input: PrepareInput, signal?: AbortSignal): Promise<PreparedChunk[]> {
  const extracted = await parseDocument(input.bytes, input.fileType, signal ? { signal } : {});
  const chunks = chunkDocument(extracted, { chunkSize: input.chunkSize, chunkOverlap: input.chunkOverlap });
  if (chunks.length === 0) throw new DocumentParseError('empty', 'The document contains no text we could extract');
  signal?.throwIfAborted();
  return chunks.map((chunk) => ({ ...chunk, terms: termFrequencies(chunk.content) }));
}
