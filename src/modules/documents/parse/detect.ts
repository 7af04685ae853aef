import { type FileTypeResult, fileTypeFromBuffer } from 'file-type';
import { AppError } from '../../../platform/errors.ts';
import { looksLikeCsv } from './csv.ts';
import { decodeText, looksLikeLegacyText } from './text.ts';
import type { DetectedType, FileType } from './types.ts';

export const MIME_TYPES: Record<FileType, string> = {
  pdf: 'application/pdf',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  text: 'text/plain',
  markdown: 'text/markdown',
  html: 'text/html',
  csv: 'text/csv',
};

const DOCX_TYPES = new Set(['docx', 'docm', 'dotx', 'dotm']);
const HTML_EXTENSIONS = new Set(['html', 'htm', 'xhtml', 'shtml']);
const MARKDOWN_EXTENSIONS = new Set(['md', 'markdown', 'mkd', 'mdown']);
const CSV_EXTENSIONS = new Set(['csv', 'tsv']);
const PLAIN_EXTENSIONS = new Set(['', 'txt', 'text']);
/** Text-based formats whose text is markup, not content: refused even though they decode as text. */
const MARKUP_FORMATS = new Set(['rtf', 'ps', 'eps']);
const PDF_CLAIM = 'a PDF';
const DOCX_CLAIM = 'a Word (.docx)';
const SUPPORTED = 'We can read PDF, Word (.docx), plain text, Markdown, HTML and CSV files.';

const FOUND: Record<string, string> = {
  png: 'a PNG image',
  jpg: 'a JPEG image',
  gif: 'a GIF image',
  webp: 'a WebP image',
  bmp: 'a BMP image',
  tif: 'a TIFF image',
  heic: 'a HEIC image',
  avif: 'an AVIF image',
  ico: 'an icon image',
  xlsx: 'an Excel spreadsheet (export it as CSV)',
  xlsm: 'an Excel spreadsheet (export it as CSV)',
  pptx: 'a PowerPoint presentation (export it as PDF)',
  cfb: 'a legacy Office file (.doc, .xls, .ppt) or a password-protected Office document (save it as an unencrypted .docx or PDF)',
  odt: 'an OpenDocument text (save it as .docx or PDF)',
  rtf: 'an RTF document (save it as .docx or PDF)',
  ps: 'a PostScript file (convert it to PDF)',
  eps: 'an EPS image',
  epub: 'an EPUB e-book',
  zip: 'a ZIP archive',
  gz: 'a gzip archive',
  '7z': 'a 7-Zip archive',
  rar: 'a RAR archive',
  tar: 'a tar archive',
  exe: 'a Windows program',
  elf: 'a Linux program',
  mp3: 'an MP3 audio file',
  mp4: 'an MP4 video',
  wav: 'a WAV audio file',
};

const FOUND_TEXT: Record<FileType, string> = {
  pdf: 'a PDF',
  docx: 'a Word document',
  text: 'plain text',
  markdown: 'Markdown text',
  html: 'an HTML page',
  csv: 'CSV data',
};

function describe(found: FileTypeResult): string {
  return FOUND[found.ext] ?? `a ${found.ext.toUpperCase()} file (${found.mime})`;
}

function extensionOf(filename: string): string {
  const base = filename.slice(Math.max(filename.lastIndexOf('/'), filename.lastIndexOf('\\')) + 1);
  const dot = base.lastIndexOf('.');
  if (dot <= 0) return '';
  return base.slice(dot + 1).toLowerCase();
}

function quoted(filename: string): string {
  return JSON.stringify(filename.length > 120 ? `${filename.slice(0, 117)}...` : filename);
}

function unsupported(filename: string, found: string, claimed?: string): AppError {
  const message = claimed
    ? `${quoted(filename)} is named as ${claimed} file, but its content is ${found}. ${SUPPORTED}`
    : `${quoted(filename)} is ${found}. ${SUPPORTED}`;
  return new AppError('unsupported_media_type', message, { extra: { found } });
}

const HTML_START = /^<(?:!doctype\s+html|html[\s>])/i;
const HTML_TAG = /<(?:html|head|body|p|div|span|a|h[1-6]|table|ul|ol|li|br|article|section|main)[\s/>]/i;
const SVG_START = /^(?:<!doctype\s+svg[^>]{0,500}>\s*)?<svg[\s>]/i;
const ATX_HEADING = /^#{1,6}[ \t]+\S/gm;
const MARKDOWN_HINT = /^(?:```|~~~)|\]\([^)\s]{1,300}\)|^[ \t]*[-*] \[[ x]\]/m;

/**
 * The markup after any leading whitespace, XML declaration and comments (skipped by hand: a
 * regular expression for "comments, repeated" backtracks exponentially on hostile input).
 */
function afterPrologue(sample: string): string {
  let at = 0;
  for (;;) {
    while (at < sample.length && /\s/.test(sample[at]!)) at++;
    const close = sample.startsWith('<!--', at) ? '-->' : sample.startsWith('<?xml', at) ? '?>' : undefined;
    if (!close) return sample.slice(at);
    const end = sample.indexOf(close, at);
    if (end === -1) return '';
    at = end + close.length;
  }
}

function looksLikeMarkdown(sample: string): boolean {
  const headings = sample.match(ATX_HEADING)?.length ?? 0;
  return headings >= 2 || (headings === 1 && MARKDOWN_HINT.test(sample));
}

function textFormat(text: string, ext: string): FileType {
  const sample = text.slice(0, 64 * 1024);
  if (HTML_START.test(afterPrologue(sample)) || (HTML_EXTENSIONS.has(ext) && HTML_TAG.test(sample))) return 'html';
  if (MARKDOWN_EXTENSIONS.has(ext)) return 'markdown';
  if (CSV_EXTENSIONS.has(ext)) return looksLikeCsv(text, true) ? 'csv' : 'text';
  if (ext === '' && looksLikeCsv(text, false)) return 'csv';
  if (PLAIN_EXTENSIONS.has(ext) && looksLikeMarkdown(sample)) return 'markdown';
  return 'text';
}

/**
 * Decides what a file is from its bytes: magic numbers (file-type) for binary formats, then our own
 * checks for text (decodable as UTF-8/UTF-16/EUC-KR, HTML markers, CSV shape, Markdown headings).
 * The name only breaks ties between text formats — and a file named .pdf or .docx must really be
 * one. Throws `unsupported_media_type` naming what was found.
 */
export async function detectFileType(bytes: Uint8Array, filename: string): Promise<DetectedType> {
  const ext = extensionOf(filename);
  const claimed = ext === 'pdf' ? PDF_CLAIM : DOCX_TYPES.has(ext) ? DOCX_CLAIM : undefined;
  const found = bytes.length > 0 ? await fileTypeFromBuffer(bytes) : undefined;
  if (found?.ext === 'pdf') return { fileType: 'pdf', mimeType: MIME_TYPES.pdf };
  if (found && DOCX_TYPES.has(found.ext)) return { fileType: 'docx', mimeType: MIME_TYPES.docx };

  if (found && MARKUP_FORMATS.has(found.ext)) throw unsupported(filename, describe(found), claimed);

  // Anything else that decodes as clean text is text, whatever a short signature suggested
  // ("MZ…", "BM…" or "ID3" at the start of a sentence is not a program, a bitmap or an MP3).
  const text = decodeText(bytes);
  if (text === undefined) {
    const what = found
      ? describe(found)
      : looksLikeLegacyText(bytes)
        ? 'text in an encoding we do not read (save it as UTF-8)'
        : 'binary data of a type we do not recognise';
    throw unsupported(
      filename,
      found?.ext === 'zip' && claimed === DOCX_CLAIM ? 'a ZIP archive that is not a Word document' : what,
      claimed,
    );
  }
  if (claimed) {
    const what = bytes.length === 0 ? 'empty' : FOUND_TEXT[textFormat(text, '')];
    throw unsupported(filename, what, claimed);
  }
  if (SVG_START.test(afterPrologue(text.slice(0, 4096)))) throw unsupported(filename, 'an SVG image');
  const fileType = textFormat(text, ext);
  return { fileType, mimeType: MIME_TYPES[fileType] };
}
