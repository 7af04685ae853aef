import { getResolvedPDFJS } from 'unpdf';
import { DocumentParseError } from './errors.ts';
import { cleanText } from './text.ts';
import type { ExtractedDocument, Section } from './types.ts';

interface Line {
  text: string;
  y: number;
  size: number;
}

interface PositionedText {
  str: string;
  transform: number[];
  height: number;
  hasEOL: boolean;
}

const SPACE_RUN = /[ \t\u00a0]{2,}/g;

/** Groups pdf.js text items into lines with their baseline and font size. */
function toLines(items: readonly unknown[]): Line[] {
  const lines: Line[] = [];
  let text = '';
  let y = 0;
  let size = 0;
  let open = false;
  for (const raw of items) {
    if (typeof raw !== 'object' || raw === null || !('str' in raw)) continue;
    const item = raw as PositionedText;
    if (!open && item.str.length > 0) {
      y = item.transform[5] ?? 0;
      size = Math.hypot(item.transform[2] ?? 0, item.transform[3] ?? 0) || item.height;
      open = true;
    }
    text += item.str;
    if (item.hasEOL) {
      lines.push({ text, y, size });
      text = '';
      open = false;
    }
  }
  if (text.length > 0) lines.push({ text, y, size });
  return lines;
}

/**
 * Joins a page's lines: a line break within a paragraph, a blank line where the vertical gap is
 * clearly wider than the page's usual line spacing (or the text jumps up to a new column), so the
 * chunker sees paragraphs in a PDF too.
 */
function pageText(lines: Line[]): string {
  const cleaned = lines.map((line) => ({ ...line, text: cleanText(line.text).replace(SPACE_RUN, ' ').trim() }));
  const gaps: number[] = [];
  let previous: Line | undefined;
  for (const line of cleaned) {
    if (line.text.length === 0) continue;
    if (previous) {
      const gap = previous.y - line.y;
      if (gap > 0 && gap < Math.max(line.size, 1) * 3) gaps.push(gap);
    }
    previous = line;
  }
  gaps.sort((a, b) => a - b);
  const usual = gaps.length >= 3 ? gaps[Math.floor(gaps.length / 2)]! : undefined;
  let out = '';
  let blank = false;
  previous = undefined;
  for (const line of cleaned) {
    if (line.text.length === 0) {
      blank = true;
      continue;
    }
    if (previous) {
      const gap = previous.y - line.y;
      const size = Math.max(previous.size, line.size, 1);
      const wide = usual !== undefined ? gap > usual * 1.4 : gap > size * 1.7;
      out += blank || wide || gap < -size ? '\n\n' : '\n';
    }
    out += line.text;
    previous = line;
    blank = false;
  }
  return out;
}

function readError(error: unknown): DocumentParseError {
  const name = error instanceof Error ? error.name : '';
  if (name === 'PasswordException') {
    return new DocumentParseError('encrypted', 'The PDF is password-protected; upload an unencrypted copy.', {
      cause: error,
    });
  }
  if (name === 'InvalidPDFException') {
    return new DocumentParseError(
      'corrupt',
      'The file is not a valid PDF or is damaged; re-export it and upload again.',
      {
        cause: error,
      },
    );
  }
  const detail = error instanceof Error ? error.message : String(error);
  return new DocumentParseError('corrupt', `The PDF could not be read (${detail}); re-export it and upload again.`, {
    cause: error,
  });
}

/** Loads PDF.js ahead of the first document (a parser thread does this when it starts). */
export async function loadPdfjs(): Promise<void> {
  await getResolvedPDFJS();
}

/**
 * Extracts each page's text with unpdf's PDF.js build (no fonts loaded; it has no eval path). Pages are
 * sections, so every chunk knows its page. The abort signal destroys the PDF.js task.
 */
export async function parsePdf(bytes: Uint8Array, signal?: AbortSignal): Promise<ExtractedDocument> {
  signal?.throwIfAborted();
  const pdfjs = await getResolvedPDFJS();
  const task = pdfjs.getDocument({
    data: new Uint8Array(bytes),
    disableFontFace: true,
    useSystemFonts: false,
    verbosity: 0,
  });
  const onAbort = () => void task.destroy();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const pdf = await task.promise;
    let title: string | undefined;
    try {
      const info = (await pdf.getMetadata()).info as { Title?: unknown } | undefined;
      if (typeof info?.Title === 'string' && info.Title.trim()) title = cleanText(info.Title).trim();
    } catch {
      // Metadata is optional; a damaged info dictionary must not fail the text.
    }
    let text = '';
    const sections: Section[] = [];
    for (let n = 1; n <= pdf.numPages; n++) {
      signal?.throwIfAborted();
      const page = await pdf.getPage(n);
      const content = await page.getTextContent();
      page.cleanup();
      const body = pageText(toLines(content.items));
      if (body.length === 0) continue;
      if (text.length > 0) text += '\n\n';
      sections.push({ start: text.length, end: text.length + body.length, page: n });
      text += body;
    }
    if (sections.length === 0) {
      throw new DocumentParseError(
        'empty',
        'The PDF has no extractable text: it may be scanned images, and text recognition (OCR) is not supported. Upload a PDF with selectable text.',
      );
    }
    return { text, sections, pageCount: pdf.numPages, ...(title ? { title } : {}) };
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    if (error instanceof DocumentParseError) throw error;
    throw readError(error);
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await task.destroy().catch(() => {});
  }
}
