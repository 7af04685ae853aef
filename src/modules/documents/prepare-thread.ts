/**
 * The worker-thread side of `PreparePool`: runs `prepareDocument` for each task the pool posts
 * (a few at once: PDF.js awaits between steps) and answers with the chunks, or with the error as
 * plain data (class instances do not survive the trip between threads).
 */
import { parentPort } from 'node:worker_threads';
import { DocumentParseError } from './parse/errors.ts';
import { loadPdfjs } from './parse/pdf.ts';
import { type PrepareInput, prepareDocument } from './prepare.ts';

export interface PrepareTask {
  id: number;
  input: PrepareInput;
}

export type PrepareAnswer =
  | { ready: true }
  | { id: number; ok: true; chunks: Awaited<ReturnType<typeof prepareDocument>> }
  | { id: number; ok: false; message: string; reason?: DocumentParseError['reason'] };

const port = parentPort;
if (!port) throw new Error('prepare-thread.ts runs as a worker thread of PreparePool');

// Parsers loaded before the first upload arrives rather than during it; the pool waits for this.
loadPdfjs().then(
  () => port.postMessage({ ready: true }),
  () => port.postMessage({ ready: true }),
);

port.on('message', async ({ id, input }: PrepareTask) => {
  let answer: PrepareAnswer;
  try {
    answer = { id, ok: true, chunks: await prepareDocument(input) };
  } catch (error) {
    answer =
      error instanceof DocumentParseError
        ? { id, ok: false, message: error.message, reason: error.reason }
        : { id, ok: false, message: error instanceof Error ? error.message : String(error) };
  }
  port.postMessage(answer);
});
