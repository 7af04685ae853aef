/**
 * The worker-thread side of the parser pool (piscina runs this module's default export): runs
 * `prepareDocument` and answers with the chunks, or with the error as plain data (class
 * instances do not survive the trip between threads). PDF.js loads with the module, before the
 * first document; a call without a task is the pool's warm-up.
 */
import { DocumentParseError } from './parse/errors.ts';
import { loadPdfjs } from './parse/pdf.ts';
import { type PrepareInput, prepareDocument } from './prepare.ts';

export type PrepareAnswer =
  | { ok: true; chunks: Awaited<ReturnType<typeof prepareDocument>> }
  | { ok: false; message: string; reason?: DocumentParseError['reason'] };

await loadPdfjs().catch(() => {});

export default async function prepareInThread(input: PrepareInput | null): Promise<PrepareAnswer | null> {
  if (!input) return null;
  try {
    return { ok: true, chunks: await prepareDocument(input) };
  } catch (error) {
    return error instanceof DocumentParseError
      ? { ok: false, message: error.message, reason: error.reason }
      : { ok: false, message: error instanceof Error ? error.message : String(error) };
  }
}
