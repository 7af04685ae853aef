import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CONTENT_TYPES_DOCX,
  CONTENT_TYPES_XLSX,
  makeDocx,
  makeExe,
  makePdf,
  makePng,
  makeZip,
} from '../../../../test/fixtures/documents.ts';
import { AppError } from '../../../platform/errors.ts';
import { detectFileType } from './index.ts';

const utf8 = (s: string) => new TextEncoder().encode(s);

async function refused(bytes: Uint8Array, filename: string, found: RegExp): Promise<void> {
  await assert.rejects(detectFileType(bytes, filename), (error: unknown) => {
    assert.ok(error instanceof AppError);
    assert.equal(error.code, 'unsupported_media_type');
    assert.equal(error.status, 415);
    assert.match(error.message, found);
    assert.ok(error.message.includes(filename), 'names the file');
    return true;
  });
}

describe('detectFileType', () => {
  it('recognises PDF and DOCX by their bytes, whatever the name', async () => {
    const pdf = await makePdf([['Hello.']]);
    const docx = await makeDocx([{ paragraph: 'Hello.' }]);
    assert.deepEqual(await detectFileType(pdf, 'report.pdf'), { fileType: 'pdf', mimeType: 'application/pdf' });
    assert.equal((await detectFileType(pdf, 'download')).fileType, 'pdf');
    assert.equal((await detectFileType(pdf, 'notes.txt')).fileType, 'pdf');
    const detected = await detectFileType(docx, 'Handbook.DOCX');
    assert.equal(detected.fileType, 'docx');
    assert.equal(detected.mimeType, 'application/vnd.openxmlformats-officedocument.wordprocessingml.document');
  });

  it('tells the text formats apart by content, using the name only between text formats', async () => {
    const cases: [string, string, string][] = [
      ['<!DOCTYPE html><html><body><p>Hi</p></body></html>', 'page.txt', 'html'],
      ['<div><p>Fragment</p></div>', 'fragment.html', 'html'],
      ['<div>not claimed as html</div>', 'snippet.txt', 'text'],
      ['Just words.\n\nMore words.', 'notes.md', 'markdown'],
      ['# Title\n\nText\n\n## Part\n\nMore', 'readme.txt', 'markdown'],
      ['# Title\n\nText only.', 'readme.txt', 'text'],
      ['name,price\nTea,3000\n', 'prices.csv', 'csv'],
      ['name\tprice\nTea\t3000\nCoffee\t4000\n', 'prices.tsv', 'csv'],
      ['a;b;c\n1;2;3\n4;5;6\n', 'export', 'csv'],
      ['Hello, world. This, that.\nAnd, again.\nOnce, more.\n', 'letter.txt', 'text'],
      ['{"key": "value"}', 'data.json', 'text'],
      ['MZ Corporation annual report. Revenue grew.', 'report.txt', 'text'],
      ['BMW sold many cars this year.', 'cars.txt', 'text'],
      ['ID3 tags are metadata in audio files.', 'id3.md', 'markdown'],
      ['BEGIN:VCALENDAR\nVERSION:2.0\nSUMMARY:Team meeting\nEND:VCALENDAR\n', 'meeting.ics', 'text'],
      ['회사 소개: 우리는 검색 플랫폼을 만듭니다.', '소개.txt', 'text'],
      ['', 'empty.txt', 'text'],
    ];
    for (const [content, name, expected] of cases) {
      const detected = await detectFileType(utf8(content), name);
      assert.equal(detected.fileType, expected, `${name}: ${content.slice(0, 30)}`);
    }
    assert.equal((await detectFileType(utf8('a,b\n1,2\n'), 'x.csv')).mimeType, 'text/csv');
  });

  it('reads Korean text saved as CP949/EUC-KR or UTF-16', async () => {
    const cp949 = new Uint8Array(Buffer.from('c7d1b1b9beee20c5d8bdbac6aec0d4b4cfb4d92e', 'hex')); // 한국어 텍스트입니다.
    assert.equal((await detectFileType(cp949, 'old.txt')).fileType, 'text');
    const utf16 = new Uint8Array([0xff, 0xfe, ...Buffer.from('안녕하세요', 'utf16le')]);
    assert.equal((await detectFileType(utf16, 'u16.txt')).fileType, 'text');
  });

  it('refuses a file that is not what its name claims', async () => {
    await refused(makePng(), 'scan.pdf', /named as a PDF file, but its content is a PNG image/);
    await refused(utf8('just some text'), 'paper.pdf', /named as a PDF file, but its content is plain text/);
    await refused(new Uint8Array(0), 'blank.pdf', /named as a PDF file, but its content is empty/);
    await refused(
      makeZip([{ name: 'hello.txt', data: 'hello' }]),
      'report.docx',
      /ZIP archive that is not a Word document/,
    );
    await refused(
      utf8('<html><body>hi</body></html>'),
      'report.docx',
      /Word \(\.docx\) file, but its content is an HTML page/,
    );
    await refused(new Uint8Array(0), 'x.docx', /Word \(\.docx\) file, but its content is empty/);
  });

  it('refuses types we do not read, saying what they are', async () => {
    await refused(makePng(), 'photo.png', /is a PNG image/);
    await refused(makeExe(), 'setup.exe', /is a Windows program/);
    await refused(
      makeZip([
        { name: '[Content_Types].xml', data: CONTENT_TYPES_XLSX },
        { name: 'xl/workbook.xml', data: '<workbook/>' },
      ]),
      'budget.xlsx',
      /Excel spreadsheet \(export it as CSV\)/,
    );
    await refused(makeZip([{ name: 'a.bin', data: new Uint8Array([0, 1, 2, 3]) }]), 'bundle.zip', /is a ZIP archive/);
    await refused(
      new Uint8Array(Buffer.from('d0cf11e0a1b11ae1000000000000000000000000000000003e000300feff0900', 'hex')),
      'old.doc',
      /legacy Office file/,
    );
    await refused(utf8('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"></svg>'), 'logo.svg', /SVG image/);
    await refused(utf8('{\\rtf1\\ansi Hello}'), 'letter.rtf', /RTF document/);
    await refused(utf8('%!PS-Adobe-3.0\n%%Pages: 1\n'), 'print.ps', /PostScript/);
    await refused(new Uint8Array(Buffer.from('caf\xe9 au lait\x00\x01', 'latin1')), 'blob.bin', /binary data/);
    await refused(
      new Uint8Array(Buffer.from('caf\xe9 au lait', 'latin1')),
      'menu.txt',
      /encoding we do not read \(save it as UTF-8\)/,
    );
    const message = await detectFileType(makePng(), 'photo.png').catch((e: AppError) => e.message);
    assert.match(String(message), /We can read PDF, Word \(\.docx\), plain text, Markdown, HTML and CSV files\./);
  });

  it('recognises a DOCX archive by its content types even when it lacks a body', async () => {
    const shell = makeZip([{ name: '[Content_Types].xml', data: CONTENT_TYPES_DOCX }]);
    assert.equal((await detectFileType(shell, 'shell.docx')).fileType, 'docx');
  });
});
