import type { ServerSentEvent } from '../protocol/types.ts';

/** What receives a stream's events, besides `onEvent`. @internal */
export interface EventSink {
  /** Queues an event; a returned promise settles when the loop catches up (backpressure). */
  push(event: ServerSentEvent): void | Promise<void>;
  /** Lets a blocked `push` go on (the stream is closing). */
  release(): void;
  /** Ends iteration: quietly, or with `{ error }` (reported once). */
  end(failure?: { error?: unknown }): void;
}

/** The buffer between the connection and `for await` loops. @internal */
export interface EventQueue extends EventSink {
  /** An iterator over the queue; starts buffering. */
  iterate(): AsyncIterableIterator<ServerSentEvent>;
}

const DONE: IteratorResult<ServerSentEvent> = { value: undefined, done: true };

/**
 * The buffer between the connection and a `for await` loop. It holds at most `highWaterMark`
 * events: past that, `push` returns a promise that settles when the loop has taken half of them,
 * and the connection stops reading (backpressure reaches the server through TCP).
 *
 * Events are buffered from the start when nobody listens with `onEvent`, so an iterator that
 * starts late loses nothing; with `onEvent`, buffering starts with iteration, so a stream that is
 * only observed through callbacks never fills a buffer nobody drains. `onReturn` runs when a loop
 * ends early (`break`).
 *
 * Hot path: a `for await` loop costs a promise and a turn of the microtask queue per event, which
 * nothing can spare it; the buffer adds no more than an indexed read and write. Events sit in a
 * ring that grows by doubling (to about the mark) and is never moved or copied per event, unlike
 * `shift()`, which moves the array each time.
 * @internal
 */
export function createEventQueue(
  highWaterMark: number,
  buffering: boolean,
  onReturn: () => void,
): EventQueue {
  // A ring: `size` events from `head` on, wrapping at its length (a power of two), which doubles
  // when it is full. No array is moved, copied or reallocated per event.
  let ring: (ServerSentEvent | undefined)[] = [];
  let head = 0;
  let size = 0;
  let reader:
    | ((result: IteratorResult<ServerSentEvent> | Promise<IteratorResult<ServerSentEvent>>) => void)
    | undefined;
  let space: (() => void) | undefined;
  let open = true;
  let failure: { error?: unknown } | undefined;
  if (!(highWaterMark >= 1))
    throw new TypeError(`fetchEventStream: highWaterMark must be >= 1, got ${highWaterMark}.`);
  const release = () => {
    space?.();
    space = undefined;
  };
  // The next event, or undefined when none is buffered.
  const take = (): ServerSentEvent | undefined => {
    if (size === 0) return undefined;
    const value = ring[head];
    ring[head] = undefined; // the loop may keep the event; the buffer does not
    head = (head + 1) & (ring.length - 1);
    // Down to half the mark before the connection goes on: one wait per half-buffer of events,
    // not one per event.
    if (--size <= highWaterMark / 2 && space) release();
    return value;
  };
  const clear = () => {
    ring = [];
    head = size = 0;
  };
  const next = (): Promise<IteratorResult<ServerSentEvent>> => {
    const value = take();
    if (value) return Promise.resolve({ value, done: false });
    if (!open) {
      const reported = failure;
      failure = undefined; // the error is reported once
      return reported ? Promise.reject(reported.error) : Promise.resolve(DONE);
    }
    release();
    return new Promise((resolve) => {
      reader = resolve;
    });
  };
  // A waiting loop takes what `next` gives now (an event, the end or the error); an event as is,
  // since resolving with a promise would cost two more turns of the microtask queue.
  const wake = () => {
    const waiting = reader;
    reader = undefined;
    const value = waiting && take();
    if (value) waiting!({ value, done: false });
    else waiting?.(next());
  };
  const end = (error?: { error?: unknown }) => {
    if (!open) return;
    open = false;
    failure = error;
    release();
    wake();
  };
  const iterator: AsyncIterableIterator<ServerSentEvent> = {
    next,
    async return() {
      onReturn();
      end();
      clear();
      return DONE;
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return {
    push(event) {
      if (!buffering || !open) return;
      const length = ring.length;
      if (size === length) {
        // Full: twice the length, the events in order from 0.
        const grown: (ServerSentEvent | undefined)[] = new Array(length === 0 ? 16 : length * 2);
        for (let index = 0; index < size; index++)
          grown[index] = ring[(head + index) & (length - 1)];
        ring = grown;
        head = 0;
      }
      ring[(head + size++) & (ring.length - 1)] = event;
      if (reader) wake();
      else if (size >= highWaterMark) return new Promise((resolve) => (space = resolve));
    },
    release,
    end,
    iterate() {
      buffering = true;
      return iterator;
    },
  };
}
