import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { makeEncryptedPdf, makeUnicodePdf } from '../../../test/fixtures/documents.ts';
import { DocumentParseError } from './parse/errors.ts';
import { prepareDocument } from './prepare.ts';
import { createPreparer, type Preparer } from './prepare-pool.ts';

const SETTINGS = { chunkSize: 64, chunkOverlap: 8 };
const text = (s: string) => ({ bytes: new TextEncoder().encode(s), fileType: 'text' as const, ...SETTINGS });

describe('createPreparer (parser threads)', () => {
  let pool: Preparer;
  before(async () => {
    pool = createPreparer(1);
    await pool.ready;
  });
  after(() => pool.close());

  it('gives the same chunks, page numbers and term counts as preparing inline', async () => {
    const pdf = await makeUnicodePdf([
      ['환불은 구매 후 30일 이내에 가능합니다.'],
      ['Refunds reach your card within five days.'],
    ]);
    const input = { bytes: pdf, fileType: 'pdf' as const, ...SETTINGS };
    const threaded = await pool.prepare(input);
    assert.deepEqual(threaded, await prepareDocument(input));
    assert.deepEqual(
      threaded.map((c) => c.page),
      [1, 2],
    );
    assert.ok(threaded[0]!.terms.terms instanceof Map, 'term counts arrive as a Map');
    assert.equal(pdf.byteLength > 0, true, "the caller's bytes stay usable (the pool transfers a copy)");
  });

  it('keeps many documents in order of their own answers', async () => {
    const inputs = Array.from({ length: 12 }, (_, i) => text(`Document number ${i} talks about topic ${i}.`));
    const results = await Promise.all(inputs.map((input) => pool.prepare(input)));
    for (const [i, chunks] of results.entries()) assert.match(chunks[0]!.content, new RegExp(`Document number ${i} `));
  });

  it('brings a parse failure back as a DocumentParseError with its reason', async () => {
    await assert.rejects(
      pool.prepare({ bytes: await makeEncryptedPdf(), fileType: 'pdf', ...SETTINGS }),
      (error: unknown) => error instanceof DocumentParseError && error.reason === 'encrypted',
    );
    await assert.rejects(
      pool.prepare(text('   \n  ')),
      (error: unknown) => error instanceof DocumentParseError && error.reason === 'empty',
    );
  });

  it('stops a running document on abort and goes on with a fresh thread', async () => {
    const controller = new AbortController();
    const big = text('A sentence about refunds and shipping times. '.repeat(200_000));
    const running = pool.prepare(big, controller.signal);
    setTimeout(() => controller.abort(new Error('job cancelled')), 20);
    await assert.rejects(running, /job cancelled/);
    const [chunk] = await pool.prepare(text('After the restart.'));
    assert.equal(chunk?.content, 'After the restart.');
  });

  it('refuses an already aborted signal without queueing', async () => {
    await assert.rejects(pool.prepare(text('x'), AbortSignal.abort(new Error('too late'))), /too late/);
  });
});

describe('createPreparer with a document that exhausts its thread', () => {
  it('fails that document alone as too_large; the one beside it is prepared', async () => {
    const pool = createPreparer(1, {
      threadUrl: new URL('../../../test/fixtures/memory-hungry-thread.ts', import.meta.url),
      threadHeapMb: 64,
    });
    await pool.ready;
    const [hungry, neighbour] = await Promise.allSettled([
      pool.prepare(text('hungry')),
      pool.prepare(text('A modest document.')),
    ]);
    assert.equal(hungry.status, 'rejected');
    assert.ok(
      hungry.reason instanceof DocumentParseError && hungry.reason.reason === 'too_large',
      String(hungry.reason),
    );
    assert.equal(neighbour.status === 'fulfilled' && neighbour.value[0]?.content, 'A modest document.');
    await pool.close();
  });
});

describe('createPreparer with threads that cannot start', () => {
  it('stops starting them after a few tries and prepares inline', async () => {
    const broken = createPreparer(1, {
      threadUrl: new URL('../../../test/fixtures/broken-thread.ts', import.meta.url),
    });
    await broken.ready;
    const [chunk] = await broken.prepare(text('Prepared all the same.'));
    assert.equal(chunk?.content, 'Prepared all the same.');
    await broken.close();
  });
});

describe('createPreparer(0)', () => {
  it('prepares inline', async () => {
    const inline = createPreparer(0);
    await inline.ready;
    const [chunk] = await inline.prepare(text('Inline text.'));
    assert.equal(chunk?.content, 'Inline text.');
    await inline.close();
  });
});
