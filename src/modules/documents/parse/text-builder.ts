import type { HeadingMark } from './sections.ts';
import { cleanText } from './text.ts';

const NONE = 0;
const SPACE = 1;
const LINE = 2;
const PARAGRAPH = 3;
const SEPARATORS = ['', ' ', '\n', '\n\n'] as const;
const WHITESPACE_RUN = /\s+/g;

/**
 * Builds clean text from a tree walk (HTML, DOCX): collapses inline whitespace the way a browser
 * does, turns block edges into line or paragraph breaks (never doubled, never leading), and records
 * where headings fall so they can become sections.
 */
export class TextBuilder {
  readonly headings: HeadingMark[] = [];
  #parts: string[] = [];
  #length = 0;
  #pending = NONE;

  get length(): number {
    return this.#length;
  }

  /** Inline text: runs of whitespace become one space. */
  text(raw: string): void {
    const collapsed = raw.replace(WHITESPACE_RUN, ' ');
    if (collapsed.length === 0) return;
    const lead = collapsed.charCodeAt(0) === 32;
    const trail = collapsed.length > 1 && collapsed.charCodeAt(collapsed.length - 1) === 32;
    if (lead) this.#want(SPACE);
    const body = collapsed.slice(lead ? 1 : 0, trail ? -1 : undefined);
    if (body.length > 0) this.#append(body);
    if (trail) this.#want(SPACE);
  }

  /** Preformatted text: line breaks and spacing kept. */
  preformatted(raw: string): void {
    const lines = cleanText(raw).split('\n');
    for (let i = 0; i < lines.length; i++) {
      if (i > 0) this.line();
      const line = lines[i]!.trimEnd();
      if (line.length > 0) this.#append(line, false);
    }
  }

  line(): void {
    this.#want(LINE);
  }

  paragraph(): void {
    this.#want(PARAGRAPH);
  }

  /** Starts a heading: returns a mark to hand to `endHeading` once its text has been added. */
  beginHeading(): { parts: number } {
    this.paragraph();
    return { parts: this.#parts.length };
  }

  endHeading(mark: { parts: number }, level: number): void {
    const added = this.#parts.slice(mark.parts).join('');
    const title = added.trim().replace(WHITESPACE_RUN, ' ');
    if (title.length > 0) {
      const start = this.#length - added.trimStart().length;
      this.headings.push({ start, end: this.#length, level, title });
    }
    this.paragraph();
  }

  toString(): string {
    return this.#parts.join('');
  }

  #want(kind: number): void {
    if (kind > this.#pending) this.#pending = kind;
  }

  #append(text: string, clean = true): void {
    const body = clean ? cleanText(text) : text;
    if (body.length === 0) return;
    if (this.#length > 0 && this.#pending !== NONE) {
      const separator = SEPARATORS[this.#pending]!;
      this.#parts.push(separator);
      this.#length += separator.length;
    }
    this.#pending = NONE;
    this.#parts.push(body);
    this.#length += body.length;
  }
}
