import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeDocx, makePdf } from '../../../../test/fixtures/documents.ts';
import { chunkDocument } from '../chunk/index.ts';
import { DocumentParseError, detectFileType, parseDocument } from './index.ts';

const utf8 = (s: string) => new TextEncoder().encode(s);

/** Upload path as the ingestion worker runs it: detect, parse, chunk. */
async function ingest(bytes: Uint8Array, filename: string) {
  const { fileType } = await detectFileType(bytes, filename);
  const doc = await parseDocument(bytes, fileType);
  return { fileType, doc, chunks: chunkDocument(doc, { chunkSize: 64, chunkOverlap: 8 }) };
}

describe('parseDocument', () => {
  it('reads every supported format end to end into chunks that point back at their source', async () => {
    const pdf = await ingest(await makePdf([['First page text.'], ['Second page text.']]), 'a.pdf');
    assert.deepEqual(
      pdf.chunks.map((c) => [c.page, c.content]),
      [
        [1, 'First page text.'],
        [2, 'Second page text.'],
      ],
    );
    const docx = await ingest(await makeDocx([{ heading: 1, text: '소개' }, { paragraph: '본문입니다.' }]), 'b.docx');
    assert.deepEqual(
      docx.chunks.map((c) => [c.sectionPath, c.content]),
      [[['소개'], '소개\n\n본문입니다.']],
    );
    const md = await ingest(utf8('# 제목\n\n내용입니다.\n'), 'c.md');
    assert.deepEqual(
      md.chunks.map((c) => [c.sectionPath, c.content]),
      [[['제목'], '# 제목\n\n내용입니다.']],
    );
    const html = await ingest(
      utf8('<html><body><h2>FAQ</h2><p>Answer.</p><script>x()</script></body></html>'),
      'd.html',
    );
    assert.deepEqual(
      html.chunks.map((c) => [c.sectionPath, c.content]),
      [[['FAQ'], 'FAQ\n\nAnswer.']],
    );
    const csv = await ingest(utf8('name,city\nKim,Seoul\nLee,Busan\n'), 'e.csv');
    assert.deepEqual(
      csv.chunks.map((c) => c.content),
      ['name: Kim\ncity: Seoul\n\nname: Lee\ncity: Busan'],
    );
    const text = await ingest(utf8('Plain words.\r\n'), 'f.txt');
    assert.deepEqual(
      text.chunks.map((c) => [c.content, c.page, c.sectionPath]),
      [['Plain words.', undefined, undefined]],
    );
    for (const result of [pdf, docx, md, html, csv, text]) {
      for (const chunk of result.chunks) assert.equal(result.doc.text.slice(chunk.start, chunk.end), chunk.content);
    }
  });

  it('refuses documents without text, naming the format', async () => {
    for (const [bytes, type, message] of [
      [utf8(''), 'text', /The text file contains no text/],
      [utf8('\n\n  \t'), 'markdown', /The Markdown file contains no text/],
      [utf8('<html><body><script>only()</script></body></html>'), 'html', /The HTML page contains no text/],
    ] as const) {
      await assert.rejects(
        parseDocument(bytes, type),
        (e) => e instanceof DocumentParseError && e.reason === 'empty' && message.test(e.message),
      );
    }
  });

  it('refuses bytes that are not text when a text format was expected', async () => {
    await assert.rejects(
      parseDocument(new Uint8Array([0, 159, 146, 150]), 'text'),
      (e) => e instanceof DocumentParseError && e.reason === 'corrupt',
    );
  });

  it('rejects with the abort reason before doing any work', async () => {
    const reason = new Error('shutting down');
    for (const type of ['text', 'markdown', 'html', 'csv'] as const) {
      await assert.rejects(
        parseDocument(utf8('a,b\n1,2'), type, { signal: AbortSignal.abort(reason) }),
        (e) => e === reason,
      );
    }
  });
});
