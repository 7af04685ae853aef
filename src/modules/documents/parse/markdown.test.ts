import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findMarkdownHeadings, parseMarkdown } from './markdown.ts';

describe('Markdown parsing', () => {
  it('turns ATX and setext headings into sections and keeps the text as written', () => {
    const source = [
      '---',
      'title: Front matter is not a heading',
      '---',
      'Preamble before any heading.',
      '',
      '# Guide',
      '',
      'Intro text.',
      '',
      '## Install ##',
      '',
      'Run `npm ci`.',
      '',
      '```sh',
      '# a shell comment, not a heading',
      '```',
      '',
      'Setup **details**',
      '-----------------',
      '',
      'Body under the setext heading.',
      '',
      '# 사용법',
      '',
      '질문을 입력합니다.',
    ].join('\r\n');
    const doc = parseMarkdown(source);
    assert.equal(doc.text, source.replaceAll('\r\n', '\n'));
    assert.equal(doc.title, 'Guide');
    assert.deepEqual(
      doc.sections.map((s) => [s.sectionPath, doc.text.slice(s.start, s.end).trim().split('\n').at(-1)]),
      [
        [undefined, 'Preamble before any heading.'],
        [['Guide'], 'Intro text.'],
        [['Guide', 'Install'], '```'],
        [['Guide', 'Setup details'], 'Body under the setext heading.'],
        [['사용법'], '질문을 입력합니다.'],
      ],
    );
  });

  it('folds a heading with no body into the section after it', () => {
    const doc = parseMarkdown('# Book\n\n## Chapter 1\n\n### Part A\n\nText A.\n\n### Part B\n\nText B.\n');
    assert.deepEqual(
      doc.sections.map((s) => [s.sectionPath, doc.text.slice(s.start, s.end).trim()]),
      [
        [['Book', 'Chapter 1', 'Part A'], '# Book\n\n## Chapter 1\n\n### Part A\n\nText A.'],
        [['Book', 'Chapter 1', 'Part B'], '### Part B\n\nText B.'],
      ],
    );
  });

  it('ignores lines that only look like headings', () => {
    assert.deepEqual(findMarkdownHeadings('#hashtag\n    # indented code\n#\n\n---\n'), []);
    assert.deepEqual(
      findMarkdownHeadings('## [Linked](https://x.y) title\n').map((h) => h.title),
      ['Linked title'],
    );
  });
});
