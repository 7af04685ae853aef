import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { englishProse, koreanProse, seededRandom } from '../../../../test/fixtures/text.ts';
import { findMarkdownHeadings } from '../parse/markdown.ts';
import { sectionsFromHeadings } from '../parse/sections.ts';
import type { ExtractedDocument, Section } from '../parse/types.ts';
import { type ChunkOptions, chunkDocument, countTokens, DEFAULT_CHUNK_OPTIONS, type TextChunk } from './index.ts';

const whole = (text: string): ExtractedDocument => ({ text, sections: [{ start: 0, end: text.length }] });
const NON_SPACE = /\S/;

/** Every property a chunk list must have, whatever the input. */
function assertChunkInvariants(doc: ExtractedDocument, chunks: TextChunk[], options: ChunkOptions): void {
  const { text } = doc;
  let previous: TextChunk | undefined;
  for (const [i, chunk] of chunks.entries()) {
    assert.equal(chunk.index, i);
    assert.equal(text.slice(chunk.start, chunk.end), chunk.content, `chunk ${i} offsets`);
    assert.ok(chunk.content.length > 0 && chunk.content === chunk.content.trim(), `chunk ${i} is trimmed`);
    const exact = countTokens(chunk.content);
    assert.ok(exact <= options.chunkSize, `chunk ${i} has ${exact} tokens > ${options.chunkSize}`);
    assert.ok(chunk.tokenCount <= options.chunkSize, `chunk ${i} counted ${chunk.tokenCount}`);
    assert.ok(
      chunk.tokenCount >= exact && chunk.tokenCount <= exact + 3,
      `chunk ${i}: ${chunk.tokenCount} vs ${exact}`,
    );
    const section = doc.sections.find((s) => s.start <= chunk.start && chunk.end <= s.end);
    assert.ok(section, `chunk ${i} [${chunk.start}, ${chunk.end}) lies inside one section`);
    assert.equal(chunk.page, section.page);
    assert.deepEqual(chunk.sectionPath, section.sectionPath?.length ? section.sectionPath : undefined);
    if (previous) {
      assert.ok(chunk.start > previous.start, `chunk ${i} moves forward`);
      if (chunk.start < previous.end) {
        const shared = countTokens(text.slice(chunk.start, previous.end));
        assert.ok(shared <= options.chunkOverlap + 2, `chunk ${i} repeats ${shared} tokens`);
      }
    }
    previous = chunk;
  }
  // Nothing is lost: every non-space character of every section is in some chunk.
  const covered = new Uint8Array(text.length);
  for (const chunk of chunks) covered.fill(1, chunk.start, chunk.end);
  for (const section of doc.sections) {
    for (let p = section.start; p < section.end; p++) {
      if (!covered[p] && NON_SPACE.test(text[p]!))
        assert.fail(`character ${p} (${JSON.stringify(text[p])}) is in no chunk`);
    }
  }
}

function markdownDoc(text: string): ExtractedDocument {
  return { text, sections: sectionsFromHeadings(text, findMarkdownHeadings(text)) };
}

function pagedDoc(pages: string[]): ExtractedDocument {
  let text = '';
  const sections: Section[] = [];
  pages.forEach((page, i) => {
    if (text) text += '\n\n';
    sections.push({ start: text.length, end: text.length + page.length, page: i + 1 });
    text += page;
  });
  return { text, sections };
}

const CASES: Record<string, () => ExtractedDocument> = {
  'English prose': () => whole(englishProse(1, { paragraphs: 40 })),
  'English with PDF line wraps': () => whole(englishProse(2, { paragraphs: 25, wrapAt: 70 })),
  'Korean prose': () => whole(koreanProse(3, { paragraphs: 40 })),
  'Korean with line wraps, as pages': () =>
    pagedDoc([1, 2, 3, 4].map((seed) => koreanProse(seed, { paragraphs: 6, wrapAt: 40 }))),
  'one endless sentence': () =>
    whole(englishProse(5, { paragraphs: 1, sentencesPerParagraph: [1, 1], sentenceWords: [3000, 3000] })),
  'markdown with sections': () =>
    markdownDoc(
      `Preamble line.\n\n# One\n\n${englishProse(6, { paragraphs: 8 })}\n\n## One.a\n\nShort.\n\n# Two\n\n${koreanProse(7, { paragraphs: 8 })}\n`,
    ),
  'Chinese without spaces': () => whole('这是一个没有空格的中文句子，用来测试分词是否正常工作。'.repeat(80)),
  'a base64 blob': () => {
    const random = seededRandom(8);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    let blob = '';
    for (let i = 0; i < 20_000; i++) blob += alphabet[Math.floor(random() * 64)];
    return whole(`Attachment follows.\n\n${blob}\n\nEnd of attachment.`);
  },
  'a DNA sequence (one 30,000-letter word)': () => {
    const random = seededRandom(9);
    let dna = '';
    for (let i = 0; i < 30_000; i++) dna += 'ACGT'[Math.floor(random() * 4)];
    return whole(`Sequence:\n${dna}\nEnd.`);
  },
  'dot leaders and a huge gap': () =>
    whole(
      `${Array.from({ length: 200 }, (_, i) => `Chapter ${i} ${'.'.repeat(60)} ${i * 3}`).join('\n')}${' '.repeat(20_000)}after the gap${'\n \n'.repeat(5_000)}end${'.'.repeat(20_000)}`,
    ),
  'emoji and odd whitespace': () =>
    whole(`  \t${'Rocket 🚀 launch 👩‍🚀 crew.\u00a0Next\u3000sentence here. '.repeat(300)}\n\n\n   \n`),
  'lists and table rows': () =>
    whole(
      Array.from({ length: 300 }, (_, i) => `- item ${i}: ${i % 7 === 0 ? 'Price | 3,000원 | in stock' : 'note'}`).join(
        '\n',
      ),
    ),
};

describe('chunkDocument', () => {
  for (const [name, make] of Object.entries(CASES)) {
    for (const options of [
      { chunkSize: 512, chunkOverlap: 76 },
      { chunkSize: 64, chunkOverlap: 10 },
      { chunkSize: 16, chunkOverlap: 0 },
    ]) {
      it(`keeps offsets, sizes, sections and overlap: ${name}, ${options.chunkSize}/${options.chunkOverlap}`, () => {
        const doc = make();
        const chunks = chunkDocument(doc, options);
        assert.ok(chunks.length > 0);
        assertChunkInvariants(doc, chunks, options);
      });
    }
  }

  it('uses 512 tokens with a 76-token (15 %) overlap by default', () => {
    assert.deepEqual(DEFAULT_CHUNK_OPTIONS, { chunkSize: 512, chunkOverlap: 76 });
    const doc = whole(englishProse(11, { paragraphs: 60 }));
    const chunks = chunkDocument(doc);
    assertChunkInvariants(doc, chunks, { chunkSize: 512, chunkOverlap: 76 });
    const average = chunks.reduce((sum, c) => sum + c.tokenCount, 0) / chunks.length;
    assert.ok(average > 300, `chunks are reasonably full (average ${average})`);
  });

  it('ends chunks at sentence ends, in Korean as in English', () => {
    for (const text of [
      koreanProse(12, { paragraphs: 1, sentencesPerParagraph: [60, 60], sentenceWords: [4, 8] }),
      englishProse(13, { paragraphs: 1, sentencesPerParagraph: [60, 60], sentenceWords: [6, 12] }),
    ]) {
      const chunks = chunkDocument(whole(text), { chunkSize: 80, chunkOverlap: 0 });
      assert.ok(chunks.length > 5);
      for (const chunk of chunks) assert.match(chunk.content, /[.?]$/, `ends a sentence: ${chunk.content.slice(-30)}`);
      for (const chunk of chunks.slice(1)) assert.match(text[chunk.start - 1]!, /\s/);
    }
  });

  it('splits "…했다. 그리고 …" and "…입니다." into sentences', () => {
    const text =
      '회의는 오전에 시작했다. 그리고 예산안을 검토했다. 결론은 다음 주에 발표할 예정입니다. 질문은 언제든 환영합니다.';
    const chunks = chunkDocument(whole(text), { chunkSize: 16, chunkOverlap: 0 });
    assert.deepEqual(
      chunks.map((c) => c.content),
      [
        '회의는 오전에 시작했다. 그리고 예산안을 검토했다.',
        '결론은 다음 주에 발표할 예정입니다.',
        '질문은 언제든 환영합니다.',
      ],
    );
  });

  it('repeats whole trailing sentences as overlap when they fit', () => {
    const text = englishProse(14, { paragraphs: 1, sentencesPerParagraph: [80, 80], sentenceWords: [6, 9] });
    const chunks = chunkDocument(whole(text), { chunkSize: 120, chunkOverlap: 30 });
    let overlapped = 0;
    for (let i = 1; i < chunks.length; i++) {
      const [prev, next] = [chunks[i - 1]!, chunks[i]!];
      assert.ok(next.start < prev.end, `chunk ${i} overlaps the previous one`);
      const shared = text.slice(next.start, prev.end);
      assert.match(shared, /^[A-Z].*[.?]$/s, `overlap is whole sentences: ${shared}`);
      assert.ok(countTokens(shared) <= 30);
      overlapped++;
    }
    assert.ok(overlapped > 3);
  });

  it('falls back to word-aligned overlap when the last sentence is longer than the overlap', () => {
    const text = englishProse(15, { paragraphs: 1, sentencesPerParagraph: [30, 30], sentenceWords: [60, 80] });
    const chunks = chunkDocument(whole(text), { chunkSize: 200, chunkOverlap: 30 });
    for (let i = 1; i < chunks.length; i++) {
      const [prev, next] = [chunks[i - 1]!, chunks[i]!];
      assert.ok(next.start < prev.end, `chunk ${i} overlaps`);
      assert.match(text[next.start - 1]!, /\s/, 'overlap starts at a word');
      const shared = countTokens(text.slice(next.start, prev.end));
      assert.ok(shared >= 10 && shared <= 30, `shared ${shared} tokens`);
    }
  });

  it('keeps paragraphs whole when a chunk is at least half full at the paragraph end', () => {
    const paragraphs = Array.from({ length: 6 }, (_, i) =>
      englishProse(20 + i, { paragraphs: 1, sentencesPerParagraph: [24, 24], sentenceWords: [12, 14] }),
    );
    const text = paragraphs.join('\n\n');
    const chunks = chunkDocument(whole(text), { chunkSize: 512, chunkOverlap: 0 });
    const sizes = paragraphs.map(countTokens);
    assert.ok(
      sizes.every((n) => n > 256 && n < 512),
      `paragraph sizes ${sizes}`,
    );
    assert.deepEqual(
      chunks.map((c) => c.content),
      paragraphs,
    );
  });

  it('never joins two sections or two pages, however small', () => {
    const doc = pagedDoc(['Page one says hello.', 'Page two says goodbye.']);
    const chunks = chunkDocument(doc);
    assert.deepEqual(
      chunks.map((c) => [c.content, c.page]),
      [
        ['Page one says hello.', 1],
        ['Page two says goodbye.', 2],
      ],
    );
  });

  it('treats special-token text as plain text', () => {
    const chunks = chunkDocument(whole('The string <|endoftext|> and <|im_start|> appear in logs.'));
    assert.equal(chunks.length, 1);
    assert.ok(chunks[0]!.tokenCount > 5);
  });

  it('returns no chunks for whitespace-only sections', () => {
    assert.deepEqual(chunkDocument(whole(' \n\n\t ')), []);
  });

  it('rejects impossible options and sections', () => {
    const doc = whole('Some text.');
    assert.throws(() => chunkDocument(doc, { chunkSize: 8 }), RangeError);
    assert.throws(() => chunkDocument(doc, { chunkSize: 100, chunkOverlap: 60 }), RangeError);
    assert.throws(() => chunkDocument(doc, { chunkOverlap: -1 }), RangeError);
    assert.throws(() => chunkDocument({ text: 'abc', sections: [{ start: 0, end: 10 }] }), RangeError);
    assert.throws(
      () =>
        chunkDocument({
          text: 'abcdef',
          sections: [
            { start: 3, end: 6 },
            { start: 0, end: 3 },
          ],
        }),
      RangeError,
    );
  });

  it('accepts another token counter', () => {
    const doc = whole(englishProse(30, { paragraphs: 10 }));
    const byWords = (s: string) => s.split(/\s+/).filter(Boolean).length;
    const chunks = chunkDocument(doc, { chunkSize: 50, chunkOverlap: 5, countTokens: byWords });
    for (const chunk of chunks) assert.ok(byWords(chunk.content) <= 50);
  });

  it('chunks a megabyte in linear time', () => {
    const text = englishProse(31, { paragraphs: 2600, wrapAt: 90 });
    assert.ok(text.length > 1_000_000);
    const started = performance.now();
    const chunks = chunkDocument(whole(text));
    const elapsed = performance.now() - started;
    assert.ok(chunks.length > 300);
    assert.ok(elapsed < 10_000, `took ${elapsed} ms`);
  });
});
