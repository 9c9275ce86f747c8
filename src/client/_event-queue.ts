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
 * nothing can spare it; the buffer adds no more than an indexed read. Events are taken at a moving
 * head, not with `shift()` (which moves the array each time), and the array is dropped once
 * drained (or cut down to the unread events).
 * @internal
 */
export function createEventQueue(
  highWaterMark: number,
  buffering: boolean,
  onReturn: () => void,
): EventQueue {
  let buffer: (ServerSentEvent | undefined)[] = [];
  let head = 0; // the next event to take; before it, taken events (cleared)
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
    if (head === buffer.length) return undefined;
    const value = buffer[head];
    buffer[head++] = undefined; // the loop may keep the event; the buffer does not
    if (head === buffer.length) {
      buffer = [];
      head = 0;
    } else {
      // Down to half the mark before the connection goes on: one wait per half-buffer of
      // events, not one per event.
      if (space && buffer.length - head <= highWaterMark / 2) release();
      // A loop that keeps pace with the connection may never drain the buffer: the taken events'
      // slots go once they outnumber the mark (at most one copy per event taken).
      if (head > highWaterMark) {
        buffer = buffer.slice(head);
        head = 0;
      }
    }
    return value;
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
      buffer = [];
      head = 0;
      return DONE;
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return {
    push(event) {
      if (!buffering || !open) return;
      buffer.push(event);
      if (reader) wake();
      else if (buffer.length - head >= highWaterMark)
        return new Promise((resolve) => (space = resolve));
    },
    release,
    end,
    iterate() {
      buffering = true;
      return iterator;
    },
  };
}
