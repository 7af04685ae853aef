import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { DocumentParseError } from './parse/errors.ts';
import { type PreparedChunk, type PrepareInput, prepareDocument } from './prepare.ts';
import type { PrepareAnswer, PrepareTask } from './prepare-thread.ts';

/** Runs `prepareDocument` (parse, chunk, count terms): in worker threads, or inline. */
export interface Preparer {
  prepare(input: PrepareInput, signal?: AbortSignal): Promise<PreparedChunk[]>;
  /** Settles once every thread has loaded its parsers. */
  ready: Promise<void>;
  close(): Promise<void>;
}

/** A parser thread's heap limit: a document that needs more fails alone, the process lives on. */
const THREAD_HEAP_MB = 2048;

/** Documents one thread works on at once: PDF.js awaits between steps, a second one fills the gaps. */
const TASKS_PER_THREAD = 2;

/** Threads that may die before ever becoming ready until the pool stops starting them (and parses inline). */
const MAX_FAILED_STARTS = 3;

// `.ts` when run from source (type stripping), `.js` from the build.
const THREAD_URL = new URL(`./prepare-thread${extname(fileURLToPath(import.meta.url))}`, import.meta.url);

/**
 * `threads` worker threads preparing documents (0: inline, on the caller's thread). Parsing a PDF
 * is the slowest CPU step of ingestion; on threads of their own the main thread keeps serving
 * requests, embedding calls and writes meanwhile, and a document that exhausts a thread's memory
 * fails alone. Threads start with the pool (loading their parsers before the first upload), never
 * keep the process alive, and are replaced when one dies or is stopped by an abort; if threads
 * cannot start at all, documents are prepared inline rather than not at all.
 */
export function createPreparer(threads: number, options: { threadUrl?: URL } = {}): Preparer {
  if (threads <= 0) return { prepare: prepareDocument, ready: Promise.resolve(), close: async () => {} };
  return new PreparePool(threads, options.threadUrl ?? THREAD_URL);
}

interface Task {
  id: number;
  input: PrepareInput;
  resolve(chunks: PreparedChunk[]): void;
  reject(error: unknown): void;
  signal: AbortSignal | undefined;
  onAbort?: () => void;
}

interface Slot {
  worker: Worker;
  tasks: Map<number, Task>;
  loaded: Promise<void>;
}

class PreparePool implements Preparer {
  readonly #size: number;
  readonly #threadUrl: URL;
  readonly #slots: Slot[] = [];
  readonly #waiting: Task[] = [];
  #nextId = 1;
  #failedStarts = 0;
  readonly ready: Promise<void>;

  constructor(size: number, threadUrl: URL) {
    this.#size = size;
    this.#threadUrl = threadUrl;
    while (this.#spawn());
    this.ready = Promise.all(this.#slots.map((slot) => slot.loaded)).then(() => {});
  }

  prepare(input: PrepareInput, signal?: AbortSignal): Promise<PreparedChunk[]> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#broken()) return prepareDocument(input, signal);
    return new Promise((resolve, reject) => {
      const task: Task = { id: this.#nextId++, input, resolve, reject, signal };
      if (signal) {
        task.onAbort = () => this.#abort(task);
        signal.addEventListener('abort', task.onAbort, { once: true });
      }
      this.#waiting.push(task);
      this.#dispatch();
    });
  }

  async close(): Promise<void> {
    const slots = this.#slots.splice(0);
    for (const task of this.#waiting.splice(0)) this.#settle(task, new Error('the document parser pool was closed'));
    for (const task of slots.flatMap((slot) => [...slot.tasks.values()])) {
      this.#settle(task, new Error('the document parser pool was closed'));
    }
    await Promise.all(slots.map((slot) => slot.worker.terminate()));
  }

  #dispatch(): void {
    while (this.#waiting.length > 0) {
      const slot = this.#spawn() ?? this.#leastBusy();
      if (!slot) return;
      const task = this.#waiting.shift() as Task;
      slot.tasks.set(task.id, task);
      // A copy of our own to transfer: the caller's bytes may share a pooled buffer.
      const bytes = new Uint8Array(task.input.bytes);
      slot.worker.postMessage({ id: task.id, input: { ...task.input, bytes } } satisfies PrepareTask, [bytes.buffer]);
    }
  }

  #broken(): boolean {
    return this.#failedStarts >= MAX_FAILED_STARTS;
  }

  #spawn(): Slot | undefined {
    if (this.#slots.length >= this.#size || this.#broken()) return undefined;
    const worker = new Worker(this.#threadUrl, { resourceLimits: { maxOldGenerationSizeMb: THREAD_HEAP_MB } });
    worker.unref();
    let isLoaded = false;
    let loaded = () => {};
    const slot: Slot = { worker, tasks: new Map(), loaded: new Promise((resolve) => (loaded = resolve)) };
    worker.on('message', (answer: PrepareAnswer) => {
      if ('ready' in answer) {
        isLoaded = true;
        return loaded();
      }
      const task = slot.tasks.get(answer.id);
      if (!task) return;
      slot.tasks.delete(answer.id);
      if (answer.ok) this.#settle(task, undefined, answer.chunks);
      else
        this.#settle(
          task,
          answer.reason ? new DocumentParseError(answer.reason, answer.message) : new Error(answer.message),
        );
      this.#dispatch();
    });
    const died = (error: unknown) => {
      if (!isLoaded && this.#slots.includes(slot)) this.#failedStarts++;
      loaded(); // a thread that died while loading must not hold `ready` up
      // Its documents are not to blame when it never started: they go back in line.
      this.#retire(slot, isLoaded ? error : undefined);
    };
    worker.on('error', (error: Error & { code?: string }) => {
      died(
        error.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? new DocumentParseError(
              'too_large',
              `Reading this document needs more than ${THREAD_HEAP_MB} MB of memory; split it into smaller files.`,
            )
          : error,
      );
    });
    worker.on('exit', () => died(new Error('the document parser thread stopped unexpectedly')));
    this.#slots.push(slot);
    return slot;
  }

  /** The thread with the fewest tasks, if it can take another. */
  #leastBusy(): Slot | undefined {
    let best: Slot | undefined;
    for (const slot of this.#slots) if (!best || slot.tasks.size < best.tasks.size) best = slot;
    return best && best.tasks.size < TASKS_PER_THREAD ? best : undefined;
  }

  /**
   * Drops a dead or stopped thread, failing its tasks with `error` (or, without one, putting them
   * back in line); a fresh thread takes its place.
   */
  #retire(slot: Slot, error: unknown): void {
    const index = this.#slots.indexOf(slot);
    if (index === -1) return;
    this.#slots.splice(index, 1);
    if (error === undefined) this.#waiting.unshift(...slot.tasks.values());
    else for (const task of slot.tasks.values()) this.#settle(task, error);
    slot.tasks.clear();
    this.#spawn();
    if (this.#broken()) {
      // No thread will take them: prepare what waits inline.
      for (const task of this.#waiting.splice(0)) {
        prepareDocument(task.input, task.signal).then(
          (chunks) => this.#settle(task, undefined, chunks),
          (err) => this.#settle(task, err),
        );
      }
    }
    this.#dispatch();
  }

  #abort(task: Task): void {
    const queued = this.#waiting.indexOf(task);
    if (queued !== -1) {
      this.#waiting.splice(queued, 1);
      this.#settle(task, task.signal?.reason);
      return;
    }
    // A parse cannot be interrupted from outside: the thread goes, with any other task it had
    // (those fail and their jobs retry).
    const slot = this.#slots.find((s) => s.tasks.has(task.id));
    if (!slot) return;
    slot.tasks.delete(task.id);
    this.#settle(task, task.signal?.reason);
    this.#retire(slot, new Error('the document parser thread was restarted; try again'));
    void slot.worker.terminate();
  }

  #settle(task: Task, error: unknown, chunks?: PreparedChunk[]): void {
    if (task.onAbort) task.signal?.removeEventListener('abort', task.onAbort);
    if (chunks) task.resolve(chunks);
    else task.reject(error);
  }
}
