import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cleanText, decodeText, parseText } from './text.ts';

describe('text decoding and cleaning', () => {
  it('decodes UTF-8 (BOM or not), UTF-16 with a BOM and Korean CP949', () => {
    assert.equal(decodeText(new Uint8Array([0xef, 0xbb, 0xbf, ...Buffer.from('안녕 hi')])), '안녕 hi');
    assert.equal(decodeText(new Uint8Array([0xfe, 0xff, ...Buffer.from('\u0000h\u0000i')])), 'hi');
    assert.equal(decodeText(new Uint8Array([0xff, 0xfe, ...Buffer.from('세계', 'utf16le')])), '세계');
    assert.equal(decodeText(new Uint8Array(Buffer.from('c7d1b1b9beee', 'hex'))), '한국어');
  });

  it('refuses binary data and text in other legacy encodings', () => {
    assert.equal(decodeText(new Uint8Array([0x00, 0x01, 0x02, 0x03])), undefined);
    assert.equal(decodeText(new Uint8Array(Buffer.from('caf\xe9 au lait', 'latin1'))), undefined);
    assert.equal(decodeText(new TextEncoder().encode(`text${'\u0007'.repeat(50)}`)), undefined);
  });

  it('normalises line ends, drops control characters and composes Hangul', () => {
    assert.equal(cleanText('a\r\nb\rc\fd\u0000e\u0007f'), 'a\nb\nc\n\ndef');
    assert.equal(cleanText('\u1112\u1161\u11ab\u1100\u1173\u11af'), '한글');
    assert.equal(cleanText('lone \ud800 surrogate'), 'lone \ufffd surrogate');
  });

  it('keeps plain text as one section', () => {
    assert.deepEqual(parseText('Hello\r\nworld'), { text: 'Hello\nworld', sections: [{ start: 0, end: 11 }] });
  });
});
