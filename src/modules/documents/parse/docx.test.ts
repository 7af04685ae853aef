import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CONTENT_TYPES_DOCX, makeDocx, makeZip, zerosDeflated } from '../../../../test/fixtures/documents.ts';
import { chunkDocument } from '../chunk/index.ts';
import { DOCX_LIMITS, DocumentParseError, parseDocument } from './index.ts';

function failsWith(reason: string, message: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof DocumentParseError, `got ${String(error)}`);
    assert.equal(error.reason, reason);
    assert.match(error.message, message);
    return true;
  };
}

/** A DOCX-shaped archive: content types plus the given entries. */
const archive = (...entries: Parameters<typeof makeZip>[0]) =>
  makeZip([{ name: '[Content_Types].xml', data: CONTENT_TYPES_DOCX }, ...entries]);

describe('DOCX parsing', () => {
  it('keeps Word headings as section paths, with lists and tables as lines', async () => {
    const docx = await makeDocx([
      { heading: 'title', text: 'Employee Handbook' },
      { paragraph: 'Welcome to the company.' },
      { heading: 1, text: 'Leave' },
      { heading: 2, text: 'Annual leave' },
      { paragraph: 'Everyone gets 25 days of annual leave.' },
      { bullets: ['Ask your manager first', 'Record it in the HR system'] },
      { heading: 2, text: 'Sick leave' },
      {
        table: [
          ['Days', 'Proof'],
          ['1-3', 'None'],
          ['4+', "Doctor's note"],
        ],
      },
      { heading: 1, text: '복리후생' },
      { paragraph: '점심 식대를 지원합니다. 그리고 건강검진을 제공했다.' },
    ]);
    const doc = await parseDocument(docx, 'docx');
    assert.equal(doc.title, 'Employee Handbook');
    assert.equal(
      doc.text,
      [
        'Employee Handbook',
        'Welcome to the company.',
        'Leave',
        'Annual leave',
        'Everyone gets 25 days of annual leave.',
        '- Ask your manager first\n- Record it in the HR system',
        'Sick leave',
        "Days | Proof\n1-3 | None\n4+ | Doctor's note",
        '복리후생',
        '점심 식대를 지원합니다. 그리고 건강검진을 제공했다.',
      ].join('\n\n'),
    );
    const paths = doc.sections.map((s) => [s.sectionPath ?? [], doc.text.slice(s.start, s.end).trim().split('\n')[0]]);
    assert.deepEqual(paths, [
      [['Employee Handbook'], 'Employee Handbook'],
      [['Leave', 'Annual leave'], 'Leave'],
      [['Leave', 'Sick leave'], 'Sick leave'],
      [['복리후생'], '복리후생'],
    ]);
    const chunks = chunkDocument(doc);
    assert.deepEqual(
      chunks.map((c) => c.sectionPath),
      [['Employee Handbook'], ['Leave', 'Annual leave'], ['Leave', 'Sick leave'], ['복리후생']],
    );
    assert.match(chunks[3]!.content, /점심 식대를 지원합니다\./);
  });

  it('refuses a document with no text', async () => {
    await assert.rejects(parseDocument(await makeDocx([{ paragraph: '   ' }]), 'docx'), failsWith('empty', /no text/));
  });

  it('refuses a decompression bomb by its declared size before inflating it', async () => {
    const bomb = archive({ name: 'word/document.xml', deflated: zerosDeflated(256) });
    assert.ok(bomb.length < 400_000, `the bomb itself is small (${bomb.length} bytes)`);
    await assert.rejects(
      parseDocument(bomb, 'docx'),
      failsWith('too_large', /more than 200 MB uncompressed.*decompression bomb/),
    );
  });

  it('refuses an entry compressed far beyond what text compresses to', async () => {
    const bomb = archive({ name: 'word/document.xml', deflated: zerosDeflated(8) });
    await assert.rejects(
      parseDocument(bomb, 'docx'),
      failsWith('too_large', /word\/document\.xml is compressed \d+:1/),
    );
  });

  it('refuses an archive whose headers understate what an entry inflates to', async () => {
    const liar = archive({ name: 'word/document.xml', deflated: zerosDeflated(64), declaredSize: 4096 });
    await assert.rejects(parseDocument(liar, 'docx'), failsWith('too_large', /inflates past the 4096 bytes/));
  });

  it('refuses an archive with too many entries', async () => {
    const entries = Array.from({ length: DOCX_LIMITS.maxEntries }, (_, i) => ({ name: `word/media/${i}.bin` }));
    await assert.rejects(parseDocument(archive(...entries), 'docx'), failsWith('too_large', /10001 archive entries/));
  });

  it('refuses a damaged archive or one without a document body', async () => {
    const docx = await makeDocx([{ paragraph: 'Fine.' }]);
    await assert.rejects(parseDocument(docx.slice(0, docx.length - 40), 'docx'), failsWith('corrupt', /damaged/));
    await assert.rejects(
      parseDocument(archive({ name: 'word/styles.xml', data: '<styles/>' }), 'docx'),
      failsWith('corrupt', /no document body/),
    );
    await assert.rejects(
      parseDocument(archive({ name: 'word/document.xml', data: '<not really word' }), 'docx'),
      failsWith('corrupt', /could not be read/),
    );
  });

  it('stops when the signal aborts', async () => {
    const docx = await makeDocx([{ paragraph: 'Hello.' }]);
    const reason = new Error('cancelled');
    await assert.rejects(parseDocument(docx, 'docx', { signal: AbortSignal.abort(reason) }), (e) => e === reason);
    const controller = new AbortController();
    const parsing = parseDocument(docx, 'docx', { signal: controller.signal });
    controller.abort(reason);
    await assert.rejects(parsing, (e) => e === reason);
  });
});
