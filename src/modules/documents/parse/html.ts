import { load } from 'cheerio/slim';
import type { AnyNode, Element } from 'domhandler';
import { DocumentParseError } from './errors.ts';
import { sectionsFromHeadings } from './sections.ts';
import { TextBuilder } from './text-builder.ts';
import type { ExtractedDocument } from './types.ts';

/** Elements whose content is never document text. */
const SKIPPED = new Set([
  'script',
  'style',
  'noscript',
  'template',
  'nav',
  'aside',
  'iframe',
  'object',
  'embed',
  'svg',
  'math',
  'canvas',
  'video',
  'audio',
  'map',
  'button',
  'select',
  'option',
  'input',
  'textarea',
  'head',
  'img',
  'picture',
  'title',
]);
const PARAGRAPH_BLOCKS = new Set([
  'p',
  'blockquote',
  'pre',
  'table',
  'ul',
  'ol',
  'dl',
  'section',
  'article',
  'header',
  'footer',
  'figure',
  'hr',
  'details',
  'form',
  'fieldset',
  'address',
  'main',
  'body',
]);
const LINE_BLOCKS = new Set(['div', 'li', 'dt', 'dd', 'tr', 'figcaption', 'summary', 'caption', 'br', 'center']);
const HIDDEN_STYLE = /display\s*:\s*none|visibility\s*:\s*hidden/i;
const HEADING = /^h([1-6])$/;

/** Tags that are never closed (void) or whose end tag may be left out: they add no depth. */
const NO_DEPTH = new Set(
  'area base br col embed hr img input link meta param source track wbr p li dt dd tr td th thead tbody tfoot option optgroup colgroup caption rb rt rp html head body script style'.split(
    ' ',
  ),
);
/** Deeper than any real page; the HTML parser spends time proportional to depth on every tag. */
export const MAX_HTML_DEPTH = 1000;

function isNameChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 45 || c === 58;
}

/**
 * The deepest element nesting, counted from the tags alone in one linear pass (a hand-written
 * scanner: a regular expression over hostile markup can backtrack for minutes).
 */
export function htmlNestingDepth(html: string): number {
  const length = html.length;
  const rawText = /<\/(?:script|style)\s*>/gi;
  let depth = 0;
  let max = 0;
  let i = html.indexOf('<');
  while (i !== -1 && i < length) {
    if (html.startsWith('<!--', i)) {
      const close = html.indexOf('-->', i + 4);
      i = close === -1 ? -1 : html.indexOf('<', close + 3);
      continue;
    }
    let j = i + 1;
    const closing = html.charCodeAt(j) === 47;
    if (closing) j++;
    const nameStart = j;
    while (j < length && isNameChar(html.charCodeAt(j))) j++;
    if (j === nameStart) {
      i = html.indexOf('<', i + 1);
      continue;
    }
    // Find the tag's end; a quote opens an attribute value only right after `=`, as in HTML.
    let quote = 0;
    let afterEquals = false;
    let k = j;
    for (; k < length; k++) {
      const c = html.charCodeAt(k);
      if (quote !== 0) {
        if (c === quote) quote = 0;
      } else if (c === 62) break;
      else if (c === 61) afterEquals = true;
      else if (afterEquals && (c === 34 || c === 39)) quote = c;
      else if (c !== 32 && c !== 9 && c !== 10 && c !== 12 && c !== 13) afterEquals = false;
    }
    if (k >= length) break;
    const name = html.slice(nameStart, j).toLowerCase();
    if (!NO_DEPTH.has(name)) {
      if (closing) depth = Math.max(0, depth - 1);
      else if (html.charCodeAt(k - 1) !== 47) {
        depth++;
        if (depth > max) max = depth;
      }
    }
    let next = k + 1;
    if (!closing && (name === 'script' || name === 'style')) {
      rawText.lastIndex = next;
      const end = rawText.exec(html);
      if (!end) break;
      next = end.index + end[0].length;
    }
    i = html.indexOf('<', next);
  }
  return max;
}

function isElement(node: AnyNode): node is Element {
  return 'attribs' in node;
}

function isHidden(el: Element): boolean {
  const a = el.attribs;
  if (a.hidden !== undefined || a['aria-hidden'] === 'true') return true;
  if (a.role === 'navigation' || a.role === 'search') return true;
  return a.style !== undefined && HIDDEN_STYLE.test(a.style);
}

interface Frame {
  node: AnyNode;
  exit: boolean;
  heading?: { parts: number };
}

/**
 * Walks a DOM subtree into a TextBuilder. Iterative (a page nested 100,000 deep must not overflow
 * the stack). Table rows become `a | b | c` lines; list items get `- ` or `1. `.
 */
function walk(root: AnyNode, b: TextBuilder): void {
  const stack: Frame[] = [{ node: root, exit: false }];
  const lists: { ordered: boolean; count: number }[] = [];
  const rows: number[] = [];
  let preDepth = 0;
  let cellDepth = 0;
  const blockBreak = (paragraph: boolean) => {
    if (cellDepth > 0) b.text(' ');
    else if (paragraph) b.paragraph();
    else b.line();
  };

  while (stack.length > 0) {
    const frame = stack.pop()!;
    const node = frame.node;
    if (!isElement(node)) {
      if (node.nodeType === 3) {
        if (preDepth > 0) b.preformatted(node.data);
        else b.text(node.data);
      } else if ('children' in node) {
        for (let i = node.children.length - 1; i >= 0; i--) stack.push({ node: node.children[i]!, exit: false });
      }
      continue;
    }
    const name = node.name.toLowerCase();
    const heading = HEADING.exec(name);
    if (frame.exit) {
      if (heading && frame.heading) b.endHeading(frame.heading, Number(heading[1]));
      else if (name === 'pre') preDepth--;
      else if (name === 'ul' || name === 'ol') lists.pop();
      else if (name === 'tr') rows.pop();
      else if (name === 'td' || name === 'th') cellDepth--;
      if (PARAGRAPH_BLOCKS.has(name)) blockBreak(true);
      else if (LINE_BLOCKS.has(name)) blockBreak(false);
      continue;
    }
    if (SKIPPED.has(name) || isHidden(node)) continue;

    const enter: Frame = { node, exit: true };
    if (heading && cellDepth === 0) enter.heading = b.beginHeading();
    else if (PARAGRAPH_BLOCKS.has(name)) blockBreak(true);
    else if (LINE_BLOCKS.has(name)) blockBreak(false);

    if (name === 'pre') preDepth++;
    else if (name === 'ul' || name === 'ol') lists.push({ ordered: name === 'ol', count: 0 });
    else if (name === 'li') {
      const list = lists[lists.length - 1];
      if (list) {
        list.count++;
        b.text(list.ordered ? `${list.count}. ` : '- ');
      }
    } else if (name === 'tr') rows.push(0);
    else if (name === 'td' || name === 'th') {
      const cells = rows.length - 1;
      if (cells >= 0) {
        if (rows[cells]! > 0) b.text(' | ');
        rows[cells]!++;
      }
      cellDepth++;
    }
    stack.push(enter);
    for (let i = node.children.length - 1; i >= 0; i--) stack.push({ node: node.children[i]!, exit: false });
  }
}

/**
 * Extracts the readable text of an HTML document: the `<main>` (or sole `<article>`) when there is
 * one, else the body; no scripts, styles, navigation, forms' controls or hidden elements. Headings
 * become sections.
 */
export function parseHtml(html: string): ExtractedDocument {
  if (htmlNestingDepth(html) > MAX_HTML_DEPTH) {
    throw new DocumentParseError(
      'too_large',
      `The HTML is nested more than ${MAX_HTML_DEPTH} elements deep, too deep to read safely; real pages are far shallower.`,
    );
  }
  const $ = load(html);
  let main: Element | undefined;
  let body: Element | undefined;
  let titleElement: Element | undefined;
  const articles: Element[] = [];
  for (const el of $('main, [role="main"], article, body, title')) {
    if (el.name === 'article') articles.push(el);
    else if (el.name === 'body') body ??= el;
    else if (el.name === 'title') titleElement ??= el;
    else main ??= el;
  }
  const root: AnyNode | undefined = main ?? (articles.length === 1 ? articles[0] : undefined) ?? body ?? $.root()[0];
  const b = new TextBuilder();
  if (root) walk(root, b);
  const text = b.toString();
  const title =
    (titleElement ? $(titleElement).text().replace(/\s+/g, ' ').trim() : '') ||
    b.headings.find((h) => h.level === 1)?.title;
  return { text, sections: sectionsFromHeadings(text, b.headings), ...(title ? { title } : {}) };
}
