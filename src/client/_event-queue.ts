import type { ServerSentEvent } from '../protocol/types.ts';

/**
 * The buffer between the connection and a `for await` loop. It holds at most `highWaterMark`
 * events: past that, `push` returns a promise that settles when the loop catches up, and the
 * connection stops reading (backpressure reaches the server through TCP).
 *
 * Events are buffered from the start when nobody listens with `onEvent`, so an iterator that
 * starts late loses nothing; with `onEvent`, buffering starts with iteration, so a stream that is
 * only observed through callbacks never fills a buffer nobody drains.
 * @internal
 */
export class EventQueue {
  readonly #highWaterMark: number;
  readonly #onReturn: () => void;
  #buffering: boolean;
  #buffer: ServerSentEvent[] = [];
  #head = 0;
  #reader:
    | { resolve(result: IteratorResult<ServerSentEvent>): void; reject(error: unknown): void }
    | undefined;
  #space: (() => void) | undefined;
  #state: 'open' | 'ended' | 'failed' = 'open';
  #error: unknown;

  constructor(highWaterMark: number, bufferBeforeIteration: boolean, onReturn: () => void) {
    if (!(highWaterMark >= 1)) {
      throw new TypeError(`highWaterMark must be at least 1 event, got ${highWaterMark}.`);
    }
    this.#highWaterMark = highWaterMark;
    this.#buffering = bufferBeforeIteration;
    this.#onReturn = onReturn;
  }

  push(event: ServerSentEvent): void | Promise<void> {
    if (!this.#buffering || this.#state !== 'open') return;
    const reader = this.#reader;
    if (reader) {
      this.#reader = undefined;
      reader.resolve({ value: event, done: false });
      return;
    }
    this.#buffer.push(event);
    if (this.#buffer.length - this.#head < this.#highWaterMark) return;
    return new Promise((resolve) => {
      this.#space = resolve;
    });
  }

  /** Lets a blocked `push` go on (the stream is closing). */
  release(): void {
    const space = this.#space;
    this.#space = undefined;
    space?.();
  }

  end(): void {
    this.#finish('ended', undefined);
  }

  fail(error: unknown): void {
    this.#finish('failed', error);
  }

  iterate(): AsyncIterableIterator<ServerSentEvent> {
    this.#buffering = true;
    const iterator: AsyncIterableIterator<ServerSentEvent> = {
      next: () => this.#next(),
      return: async () => {
        this.#onReturn();
        this.#finish('ended', undefined);
        this.#buffer = [];
        this.#head = 0;
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  #next(): Promise<IteratorResult<ServerSentEvent>> {
    if (this.#head < this.#buffer.length) {
      const value = this.#buffer[this.#head++]!;
      if (this.#head === this.#buffer.length) {
        this.#buffer = [];
        this.#head = 0;
      }
      if (this.#buffer.length - this.#head < this.#highWaterMark) this.release();
      return Promise.resolve({ value, done: false });
    }
    if (this.#state === 'ended') return Promise.resolve({ value: undefined, done: true });
    if (this.#state === 'failed') {
      this.#state = 'ended'; // the error is reported once
      return Promise.reject(this.#error);
    }
    this.release();
    return new Promise((resolve, reject) => {
      this.#reader = { resolve, reject };
    });
  }

  #finish(state: 'ended' | 'failed', error: unknown): void {
    if (this.#state !== 'open') return;
    this.#state = state;
    this.#error = error;
    this.release();
    const reader = this.#reader;
    this.#reader = undefined;
    if (!reader) return;
    if (state === 'failed') {
      this.#state = 'ended';
      reader.reject(error);
    } else {
      reader.resolve({ value: undefined, done: true });
    }
  }
}
