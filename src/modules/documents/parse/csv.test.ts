import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCsv, sniffDelimiter } from './csv.ts';
import { DocumentParseError } from './errors.ts';

describe('CSV parsing', () => {
  it('renders each row as "header: value" lines, one paragraph per row', async () => {
    const doc = await parseCsv('name,price,note\nTea,3000,"hot, sweet"\n\n"Coffee",4000,\n,,\n');
    assert.equal(doc.text, 'name: Tea\nprice: 3000\nnote: hot, sweet\n\nname: Coffee\nprice: 4000');
    assert.deepEqual(doc.sections, [{ start: 0, end: doc.text.length }]);
  });

  it('handles semicolons, tabs, quoted line breaks, ragged rows and Korean', async () => {
    assert.equal(sniffDelimiter('a;b;c\n1;2;3'), ';');
    assert.equal(sniffDelimiter('a\tb, c\n1\t2, 3'), '\t');
    const doc = await parseCsv('상품;가격;설명\n녹차;3,000원;"따뜻하고\n달콤합니다"\n커피;4,000원;신선함;추가 열\n');
    assert.equal(
      doc.text,
      '상품: 녹차\n가격: 3,000원\n설명: 따뜻하고 달콤합니다\n\n상품: 커피\n가격: 4,000원\n설명: 신선함\nColumn 4: 추가 열',
    );
  });

  it('reads a large file in slices, across multi-byte characters and quoted fields', async () => {
    const rows = Array.from({ length: 20_000 }, (_, i) => `${i},"제품 ${i}, 설명 🚀",${i * 10}`);
    const doc = await parseCsv(`id,이름,값\n${rows.join('\n')}`);
    const paragraphs = doc.text.split('\n\n');
    assert.equal(paragraphs.length, 20_000);
    assert.equal(paragraphs[12_345], 'id: 12345\n이름: 제품 12345, 설명 🚀\n값: 123450');
  });

  it('refuses a file with no data rows or a broken quote', async () => {
    await assert.rejects(parseCsv('only,a,header\n'), (e) => e instanceof DocumentParseError && e.reason === 'empty');
    await assert.rejects(
      parseCsv('a,b\n"unterminated,1\n2,3\n'),
      (e) => e instanceof DocumentParseError && e.reason === 'corrupt' && /CSV file could not be read/.test(e.message),
    );
  });

  it('stops when the signal aborts', async () => {
    const reason = new Error('stop');
    const big = `a,b\n${'1,2\n'.repeat(100_000)}`;
    const controller = new AbortController();
    const parsing = parseCsv(big, controller.signal);
    setImmediate(() => controller.abort(reason));
    await assert.rejects(parsing, (e) => e === reason);
  });
});
