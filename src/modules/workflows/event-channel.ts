/**
 * A single-consumer queue between a run (which pushes as things happen) and whoever iterates its
 * events. The run never waits for the consumer; when the consumer stops early (`break` out of a
 * `for await`), `onCancel` fires so the run can stop too.
 */
export class EventChannel<T> {
  readonly #items: T[] = [];
  #head = 0;
  #closed = false;
  #iterated = false;
  #wake: (() => void) | undefined;
  readonly #onCancel: () => void;

  constructor(onCancel: () => void) {
    this.#onCancel = onCancel;
  }

  push(item: T): void {
    if (this.#closed) return;
    this.#items.push(item);
    this.#wake?.();
  }

  close(): void {
    this.#closed = true;
    this.#wake?.();
  }

  async *iterate(): AsyncGenerator<T, void, undefined> {
    if (this.#iterated) throw new Error('The events of a workflow run can be iterated once');
    this.#iterated = true;
    let finished = false;
    try {
      for (;;) {
        if (this.#head < this.#items.length) {
          const item = this.#items[this.#head] as T;
          this.#items[this.#head] = undefined as T;
          this.#head++;
          yield item;
          continue;
        }
        if (this.#closed) {
          finished = true;
          return;
        }
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
        this.#wake = undefined;
      }
    } finally {
      if (!finished) this.#onCancel();
    }
  }
}

/** A growing list of text pieces that several readers can replay from the start while it grows. */
export class TextStream {
  readonly #pieces: string[] = [];
  #closed = false;
  #waiters: Array<() => void> = [];

  push(text: string): void {
    if (this.#closed || text === '') return;
    this.#pieces.push(text);
    this.#notify();
  }

  close(): void {
    this.#closed = true;
    this.#notify();
  }

  async *read(signal: AbortSignal): AsyncGenerator<string, void, undefined> {
    let next = 0;
    for (;;) {
      if (next < this.#pieces.length) {
        yield this.#pieces[next++] as string;
        continue;
      }
      if (this.#closed) return;
      signal.throwIfAborted();
      await new Promise<void>((resolve) => {
        const wake = () => {
          signal.removeEventListener('abort', wake);
          resolve();
        };
        this.#waiters.push(wake);
        signal.addEventListener('abort', wake, { once: true });
      });
    }
  }

  #notify() {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }
}
