import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeEncryptedPdf, makePdf, makeTextlessPdf, makeUnicodePdf } from '../../../../test/fixtures/documents.ts';
import { chunkDocument } from '../chunk/index.ts';
import { DocumentParseError, parseDocument } from './index.ts';

function failsWith(reason: string, message: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof DocumentParseError, `got ${String(error)}`);
    assert.equal(error.reason, reason);
    assert.match(error.message, message);
    return true;
  };
}

const LONG = 'The committee reviewed the annual budget proposal and asked for a detailed analysis of every line item.';

describe('PDF parsing', () => {
  it('extracts the text of every page, keeps page numbers and finds paragraphs', async () => {
    const pdf = await makePdf(
      [['Introduction. This report covers the first quarter.', `${LONG} ${LONG}`], [], ['Results on page three.']],
      { title: 'Quarterly report' },
    );
    const doc = await parseDocument(pdf, 'pdf');
    assert.equal(doc.pageCount, 3);
    assert.equal(doc.title, 'Quarterly report');
    assert.deepEqual(
      doc.sections.map((s) => s.page),
      [1, 3],
      'the empty page has no section',
    );
    const page1 = doc.text.slice(doc.sections[0]!.start, doc.sections[0]!.end);
    assert.match(page1, /^Introduction\. This report covers the first quarter\.\n\nThe committee reviewed/);
    const secondParagraph = page1.split('\n\n')[1]!;
    assert.equal(secondParagraph.replaceAll('\n', ' '), `${LONG} ${LONG}`, 'wrapped lines join back with spaces');
    assert.ok(secondParagraph.includes('\n'), 'wrapped lines stay lines within the paragraph');
    assert.equal(doc.text.slice(doc.sections[1]!.start, doc.sections[1]!.end), 'Results on page three.');

    const chunks = chunkDocument(doc, { chunkSize: 32, chunkOverlap: 4 });
    assert.ok(chunks.length > 2);
    for (const chunk of chunks) {
      assert.ok(chunk.page === 1 || chunk.page === 3);
      assert.equal(doc.text.slice(chunk.start, chunk.end), chunk.content);
    }
    assert.equal(chunks.at(-1)!.content, 'Results on page three.');
    assert.equal(chunks.at(-1)!.page, 3);
  });

  it('keeps other scripts and emoji intact', async () => {
    const doc = await parseDocument(await makeUnicodePdf([['로켓 🚀 발사. 中文 テスト Ünïcödé.']]), 'pdf');
    assert.equal(doc.text, '로켓 🚀 발사. 中文 テスト Ünïcödé.');
  });

  it('keeps Korean text intact', async () => {
    const pdf = await makeUnicodePdf([
      ['회의는 오전에 시작했다. 그리고 예산안을 검토했다.', '결론은 다음 주에 발표할 예정입니다.'],
      ['둘째 쪽: 질문은 언제든 환영합니다.'],
    ]);
    const doc = await parseDocument(pdf, 'pdf');
    assert.equal(
      doc.text,
      '회의는 오전에 시작했다. 그리고 예산안을 검토했다.\n\n결론은 다음 주에 발표할 예정입니다.\n\n둘째 쪽: 질문은 언제든 환영합니다.',
    );
    const chunks = chunkDocument(doc, { chunkSize: 16, chunkOverlap: 0 });
    assert.deepEqual(
      chunks.map((c) => [c.page, c.content]),
      [
        [1, '회의는 오전에 시작했다. 그리고 예산안을 검토했다.'],
        [1, '결론은 다음 주에 발표할 예정입니다.'],
        [2, '둘째 쪽: 질문은 언제든 환영합니다.'],
      ],
    );
  });

  it('refuses a password-protected PDF', async () => {
    await assert.rejects(parseDocument(await makeEncryptedPdf(), 'pdf'), failsWith('encrypted', /password-protected/));
  });

  it('refuses a damaged PDF', async () => {
    const pdf = await makePdf([['A perfectly fine page.']]);
    await assert.rejects(
      parseDocument(pdf.slice(0, 300), 'pdf'),
      failsWith('corrupt', /not a valid PDF or is damaged/),
    );
    const garbage = new TextEncoder().encode(`%PDF-1.7\n${'x'.repeat(2000)}\n%%EOF`);
    await assert.rejects(parseDocument(garbage, 'pdf'), failsWith('corrupt', /damaged/));
  });

  it('refuses a PDF without text, such as a scan', async () => {
    await assert.rejects(parseDocument(await makeTextlessPdf(), 'pdf'), failsWith('empty', /no extractable text.*OCR/));
  });

  it('stops when the signal aborts, with the signal’s reason', async () => {
    const pdf = await makePdf(Array.from({ length: 60 }, () => [LONG, LONG, LONG]));
    const controller = new AbortController();
    const reason = new Error('job lease lost');
    const parsing = parseDocument(pdf, 'pdf', { signal: controller.signal });
    setImmediate(() => controller.abort(reason));
    await assert.rejects(parsing, (error) => error === reason);
    await assert.rejects(parseDocument(pdf, 'pdf', { signal: AbortSignal.abort(reason) }), (error) => error === reason);
  });
});
