import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { Piscina } from 'piscina';
import { DocumentParseError } from './parse/errors.ts';
import { type PreparedChunk, type PrepareInput, prepareDocument } from './prepare.ts';
import type { PrepareAnswer } from './prepare-thread.ts';

/** Runs `prepareDocument` (parse, chunk, count terms): in worker threads, or inline. */
export interface Preparer {
  prepare(input: PrepareInput, signal?: AbortSignal): Promise<PreparedChunk[]>;
  /** Settles once every thread has loaded its parsers. */
  ready: Promise<void>;
  close(): Promise<void>;
}

/** A parser thread's heap limit: a document that needs more fails alone, the process lives on. */
const THREAD_HEAP_MB = 2048;

/** Thread failures in a row (not the documents' doing) after which documents are prepared inline. */
const MAX_THREAD_FAILURES = 3;

// `.ts` when run from source (type stripping), `.js` from the build.
const THREAD_URL = new URL(`./prepare-thread${extname(fileURLToPath(import.meta.url))}`, import.meta.url);

/**
 * `threads` worker threads preparing documents (0: inline, on the caller's thread), pooled by
 * piscina. Parsing a PDF is the slowest CPU step of ingestion; on threads of their own the main
 * thread keeps serving requests, embedding calls and writes meanwhile, and a document that
 * exhausts a thread's memory fails alone. Threads start with the pool and load their parsers
 * before the first upload; an abort stops the thread working on that document. If threads keep
 * dying without a document to blame (they cannot start, say), documents are prepared inline
 * rather than not at all, and `log` says so once.
 *
 * A thread holds one document at a time: a dying thread ends every task it holds, so a second
 * document would fail with the one that ran out of memory or was aborted (measured: a second
 * task per thread did not add throughput).
 */
export function createPreparer(
  threads: number,
  options: { threadUrl?: URL; threadHeapMb?: number; log?: Pick<Logger, 'warn'> } = {},
): Preparer {
  if (threads <= 0) return { prepare: prepareDocument, ready: Promise.resolve(), close: async () => {} };
  const heapMb = options.threadHeapMb ?? THREAD_HEAP_MB;
  const pool = new Piscina<PrepareInput | null, PrepareAnswer | null>({
    filename: (options.threadUrl ?? THREAD_URL).href,
    minThreads: threads,
    maxThreads: threads,
    concurrentTasksPerWorker: 1,
    resourceLimits: { maxOldGenerationSizeMb: heapMb },
  });
  let failures = 0;
  const giveUpThreads = (error: unknown) => {
    if (failures < MAX_THREAD_FAILURES) options.log?.warn({ err: error }, 'parser threads failed; parsing inline');
    failures = MAX_THREAD_FAILURES;
  };

  async function prepare(input: PrepareInput, signal?: AbortSignal): Promise<PreparedChunk[]> {
    signal?.throwIfAborted();
    if (failures >= MAX_THREAD_FAILURES) return prepareDocument(input, signal);
    // A copy of our own to transfer: the caller's bytes may share a pooled buffer.
    const bytes = new Uint8Array(input.bytes);
    let answer: PrepareAnswer | null;
    try {
      answer = await pool.run({ ...input, bytes }, { transferList: [bytes.buffer], ...(signal ? { signal } : {}) });
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if ((error as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY') {
        throw new DocumentParseError(
          'too_large',
          `Reading this document needs more than ${heapMb} MB of memory; split it into smaller files.`,
        );
      }
      // The thread died for a reason of its own: try again, inline once threads keep failing.
      if (failures + 1 >= MAX_THREAD_FAILURES) giveUpThreads(error);
      else failures++;
      return prepare(input, signal);
    }
    failures = 0;
    if (answer?.ok) return answer.chunks;
    throw answer?.reason ? new DocumentParseError(answer.reason, answer.message) : new Error(answer?.message);
  }

  return {
    prepare,
    // One warm-up call per thread: it answers once the thread's module (and PDF.js) has loaded.
    ready: Promise.all(Array.from({ length: threads }, () => pool.run(null))).then(() => {}, giveUpThreads),
    close: () => pool.destroy(),
  };
}
