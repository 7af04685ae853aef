/**
 * Document parsing for knowledge ingestion: decide what an upload is from its bytes, then extract
 * its text with the page or heading structure that chunks will carry as their source.
 */
import { parseCsv } from './csv.ts';
import { parseDocx } from './docx.ts';
import { DocumentParseError } from './errors.ts';
import { parseHtml } from './html.ts';
import { parseMarkdown } from './markdown.ts';
import { parsePdf } from './pdf.ts';
import { decodeText, parseText } from './text.ts';
import type { ExtractedDocument, FileType, ParseOptions } from './types.ts';

export { detectFileType, MIME_TYPES } from './detect.ts';
export { DOCX_LIMITS } from './docx.ts';
export { DocumentParseError, type DocumentParseFailure } from './errors.ts';
export type { DetectedType, ExtractedDocument, FileType, ParseOptions, Section } from './types.ts';

const LABEL: Record<FileType, string> = {
  pdf: 'The PDF',
  docx: 'The Word document',
  text: 'The text file',
  markdown: 'The Markdown file',
  html: 'The HTML page',
  csv: 'The CSV file',
};

const NON_WHITESPACE = /\S/;

/**
 * Extracts the text of a file whose type `detectFileType` decided. Throws DocumentParseError when
 * this copy cannot be read (damaged, encrypted, empty, decompression bomb); rejects with
 * `signal.reason` when aborted.
 */
export async function parseDocument(
  bytes: Uint8Array,
  fileType: FileType,
  options: ParseOptions = {},
): Promise<ExtractedDocument> {
  const { signal } = options;
  signal?.throwIfAborted();
  let doc: ExtractedDocument;
  if (fileType === 'pdf') doc = await parsePdf(bytes, signal);
  else if (fileType === 'docx') doc = await parseDocx(bytes, signal);
  else {
    const decoded = decodeText(bytes);
    if (decoded === undefined) {
      throw new DocumentParseError('corrupt', `${LABEL[fileType]} is not readable text (UTF-8, UTF-16 or EUC-KR).`);
    }
    if (fileType === 'csv') doc = await parseCsv(decoded, signal);
    else if (fileType === 'html') doc = parseHtml(decoded);
    else if (fileType === 'markdown') doc = parseMarkdown(decoded);
    else doc = parseText(decoded);
  }
  if (!NON_WHITESPACE.test(doc.text)) {
    throw new DocumentParseError('empty', `${LABEL[fileType]} contains no text.`);
  }
  return doc;
}
