import type { Section } from './types.ts';

/** A heading found in the extracted text: `start`/`end` bound the heading's own text. */
export interface HeadingMark {
  start: number;
  end: number;
  level: number;
  title: string;
}

const NON_WHITESPACE = /\S/;

function hasText(text: string, start: number, end: number): boolean {
  return start < end && NON_WHITESPACE.test(text.slice(start, end));
}

/**
 * Turns headings into sections: each heading opens a section that runs to the next heading and is
 * labelled with the titles of the headings it sits under. A heading with no body of its own (a
 * chapter title directly followed by its first sub-heading) joins the section after it instead of
 * becoming a chunk that holds nothing but a title; a trailing one joins the section before.
 */
export function sectionsFromHeadings(text: string, headings: readonly HeadingMark[]): Section[] {
  const sections: Section[] = [];
  const first = headings[0];
  const preambleEnd = first ? first.start : text.length;
  if (hasText(text, 0, preambleEnd)) sections.push({ start: 0, end: preambleEnd });

  const stack: HeadingMark[] = [];
  let carriedStart: number | undefined;
  for (let i = 0; i < headings.length; i++) {
    const heading = headings[i]!;
    const end = headings[i + 1]?.start ?? text.length;
    while (stack.length > 0 && stack[stack.length - 1]!.level >= heading.level) stack.pop();
    stack.push(heading);
    const isLast = i === headings.length - 1;
    if (!hasText(text, heading.end, end) && !isLast) {
      carriedStart ??= heading.start;
      continue;
    }
    const start = carriedStart ?? heading.start;
    carriedStart = undefined;
    const previous = sections[sections.length - 1];
    if (!hasText(text, heading.end, end) && previous) {
      previous.end = end;
      continue;
    }
    sections.push({ start, end, sectionPath: stack.map((h) => h.title) });
  }
  if (sections.length === 0) sections.push({ start: 0, end: text.length });
  return sections;
}
