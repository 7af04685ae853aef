/**
 * Chunking for retrieval: a document's pages and sections are split separately (a chunk never
 * spans two pages or two headings), by token count, at the strongest boundary available.
 */
import type { ExtractedDocument } from '../parse/types.ts';
import { splitRange } from './recursive.ts';
import { countTokens } from './tokens.ts';

export { countTokens } from './tokens.ts';

export interface ChunkOptions {
  /** Most tokens in a chunk (o200k BPE count). */
  chunkSize: number;
  /** Tokens of the previous chunk's end repeated at the start of the next, at most. */
  chunkOverlap: number;
  /** Token counter; defaults to gpt-tokenizer's o200k count. */
  countTokens?: (text: string) => number;
}

export const DEFAULT_CHUNK_OPTIONS: Readonly<Required<Pick<ChunkOptions, 'chunkSize' | 'chunkOverlap'>>> = {
  chunkSize: 512,
  chunkOverlap: 76,
};

export interface TextChunk {
  /** Position in the document, from 0. */
  index: number;
  /** Exactly `doc.text.slice(start, end)`. */
  content: string;
  start: number;
  end: number;
  /** Sum of the pieces' token counts: equal to, or a token or two above, counting `content` whole. */
  tokenCount: number;
  page?: number;
  sectionPath?: string[];
}

function resolveOptions(options: Partial<ChunkOptions>): Required<ChunkOptions> {
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_OPTIONS.chunkSize;
  const chunkOverlap = options.chunkOverlap ?? DEFAULT_CHUNK_OPTIONS.chunkOverlap;
  if (!Number.isInteger(chunkSize) || chunkSize < 16) {
    throw new RangeError(`chunkSize must be an integer of at least 16 tokens, got ${chunkSize}`);
  }
  if (!Number.isInteger(chunkOverlap) || chunkOverlap < 0 || chunkOverlap > chunkSize / 2) {
    throw new RangeError(`chunkOverlap must be an integer from 0 to half of chunkSize, got ${chunkOverlap}`);
  }
  return { chunkSize, chunkOverlap, countTokens: options.countTokens ?? countTokens };
}

/**
 * Splits an extracted document into chunks of at most `chunkSize` tokens, section by section.
 * Each chunk carries its offsets into `doc.text`, its page (PDF) or heading path, and its size.
 */
export function chunkDocument(doc: ExtractedDocument, options: Partial<ChunkOptions> = {}): TextChunk[] {
  const resolved = resolveOptions(options);
  const sections = doc.sections.length > 0 ? doc.sections : [{ start: 0, end: doc.text.length }];
  const chunks: TextChunk[] = [];
  let previousEnd = 0;
  for (const section of sections) {
    if (section.start < previousEnd || section.end < section.start || section.end > doc.text.length) {
      throw new RangeError(`sections must be in order and inside the text; got [${section.start}, ${section.end})`);
    }
    previousEnd = section.end;
    for (const span of splitRange(doc.text, section.start, section.end, resolved)) {
      const chunk: TextChunk = {
        index: chunks.length,
        content: doc.text.slice(span.start, span.end),
        start: span.start,
        end: span.end,
        tokenCount: span.tokenCount,
      };
      if (section.page !== undefined) chunk.page = section.page;
      if (section.sectionPath && section.sectionPath.length > 0) chunk.sectionPath = section.sectionPath;
      chunks.push(chunk);
    }
  }
  return chunks;
}
