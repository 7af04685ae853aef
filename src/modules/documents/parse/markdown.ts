import { type HeadingMark, sectionsFromHeadings } from './sections.ts';
import { cleanText } from './text.ts';
import type { ExtractedDocument } from './types.ts';

const FENCE = /^ {0,3}(`{3,}|~{3,})/;
const ATX_OPEN = /^ {0,3}(#{1,6})(?=[ \t]|$)/;
const SETEXT = /^ {0,3}(=+|-+)[ \t]*$/;
const FRONT_MATTER_END = /^(---|\.\.\.)[ \t]*$/;
const INLINE_MARKUP = /\*\*|__|`|\[([^\]]*)\]\([^)]*\)/g;

/** Longest heading title kept; also bounds the regular expressions run over it. */
const MAX_TITLE = 300;

function headingTitle(raw: string): string {
  return raw
    .slice(0, MAX_TITLE)
    .replace(INLINE_MARKUP, (m, linkText: string | undefined) => (m.startsWith('[') ? (linkText ?? '') : ''))
    .trim();
}

/** The text of an ATX heading line after its `#`s, without the optional closing `#`s. */
function atxText(line: string, after: number): string {
  let text = line.slice(after).trim();
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 35) end--;
  if (end === 0) return '';
  if (end < text.length && (text[end - 1] === ' ' || text[end - 1] === '\t')) text = text.slice(0, end).trimEnd();
  return text;
}

/**
 * Finds ATX (`## Title`) and setext (`Title` over `===`) headings, ignoring fenced code and YAML
 * front matter.
 */
export function findMarkdownHeadings(text: string): HeadingMark[] {
  const headings: HeadingMark[] = [];
  let fence: string | undefined;
  let previous: { start: number; end: number; blank: boolean; heading: boolean } | undefined;
  let lineStart = 0;
  let lineNo = 0;
  let inFrontMatter = text.startsWith('---\n');
  while (lineStart <= text.length) {
    const newline = text.indexOf('\n', lineStart);
    const lineEnd = newline === -1 ? text.length : newline;
    const line = text.slice(lineStart, lineEnd);
    let isHeading = false;
    if (inFrontMatter) {
      if (lineNo > 0 && FRONT_MATTER_END.test(line)) inFrontMatter = false;
      else if (lineNo > 200) inFrontMatter = false;
    } else if (fence !== undefined) {
      const close = FENCE.exec(line);
      if (close?.[1] && close[1][0] === fence[0] && close[1].length >= fence.length && line.trim() === close[1]) {
        fence = undefined;
      }
    } else {
      const open = FENCE.exec(line);
      const atx = open ? null : ATX_OPEN.exec(line);
      const setext = open || atx ? null : SETEXT.exec(line);
      if (open?.[1]) fence = open[1];
      else if (atx?.[1]) {
        const title = headingTitle(atxText(line, atx[0].length));
        if (title) {
          headings.push({ start: lineStart, end: lineEnd, level: atx[1].length, title });
          isHeading = true;
        }
      } else if (setext?.[1] && previous && !previous.blank && !previous.heading) {
        const title = headingTitle(text.slice(previous.start, previous.end));
        if (title) {
          headings.push({ start: previous.start, end: lineEnd, level: setext[1][0] === '=' ? 1 : 2, title });
          isHeading = true;
        }
      }
    }
    previous = { start: lineStart, end: lineEnd, blank: line.trim() === '', heading: isHeading };
    if (newline === -1) break;
    lineStart = newline + 1;
    lineNo++;
  }
  return headings;
}

/** Markdown is kept as written (its markup reads fine to embedders); headings become sections. */
export function parseMarkdown(decoded: string): ExtractedDocument {
  const text = cleanText(decoded);
  const headings = findMarkdownHeadings(text);
  const title = headings.find((h) => h.level === 1)?.title;
  return { text, sections: sectionsFromHeadings(text, headings), ...(title ? { title } : {}) };
}
