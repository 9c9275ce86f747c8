/**
 * The one producer runner, for plain streams (src/server) and hub runs (src/hub): a producer in
 * any of its forms runs to its end, and what it returned is the payload of `done`.
 *
 * The forms: a function of the writer (its return value, awaited, is the result; an (async)
 * iterable it returns is pumped, as from an async generator function), or an (async) iterable of
 * events itself. An iterable is pulled one event at a time and each is sent with `await send`
 * (the backpressure); an abort of the writer's `signal` does not wait for a pending `next()`: the
 * run rejects with `signal.reason` at once and the iterator is asked to `return()`, so a
 * generator's `finally` runs as soon as it reaches its next `yield` (at once if it awaits the
 * signal).
 * @internal
 */

/** What the runner needs of the object a producer writes to. */
export interface ProducerTarget<Event> {
  send(event: Event): Promise<void>;
  readonly signal: AbortSignal;
}

/** A producer in any of its forms, writing to `Writer` or yielding `Event`s. */
export type AnyProducer<Writer, Event> =
  | ((writer: Writer) => unknown)
  | AsyncIterable<Event, unknown>
  | Iterable<Event, unknown>;

type AnyIterator<Event> = AsyncIterator<Event, unknown> | Iterator<Event, unknown>;

/** Throws a `TypeError` naming `caller` unless `producer` is a function or an (async) iterable. */
export function assertProducer(producer: unknown, caller: string): void {
  if (typeof producer === 'function' || isIterable(producer)) return;
  throw new TypeError(
    `${caller}: the producer must be a function or an (async) iterable of events, got ${producer === null ? 'null' : typeof producer}.`,
  );
}

/**
 * Runs `producer` to the end and returns what it returned. `report` receives late failures that
 * have nowhere else to go (an iterator's cleanup that throws after the stream ended).
 */
export async function runProducer<Event, Writer extends ProducerTarget<Event>>(
  producer: AnyProducer<Writer, Event>,
  writer: Writer,
  report: (error: unknown) => void,
): Promise<unknown> {
  const result = typeof producer === 'function' ? await producer(writer) : producer;
  if (typeof producer === 'function' && !isIterable(result)) return result;
  return pump(result as Iterable<Event> | AsyncIterable<Event>, writer, report);
}

/** True for values that cancellation produced: `signal.reason`, or an AbortError after the abort. */
export function isCancellation(error: unknown, signal: AbortSignal): boolean {
  if (!signal.aborted) return false;
  if (error === signal.reason) return true;
  const name = typeof error === 'object' && error !== null ? (error as Error).name : undefined;
  return name === 'AbortError' || name === 'TimeoutError';
}

// Pulls events one at a time and sends each: `await send` is the backpressure, and a send that
// rejects (the stream ended) ends the loop. While the iterator is computing, an abort must not
// wait for it: the race gives up on the pending next() and asks the iterator to return.
async function pump<Event>(
  iterable: Iterable<Event> | AsyncIterable<Event>,
  writer: ProducerTarget<Event>,
  report: (error: unknown) => void,
): Promise<unknown> {
  const iterator: AnyIterator<Event> =
    Symbol.asyncIterator in iterable
      ? iterable[Symbol.asyncIterator]()
      : (iterable as Iterable<Event>)[Symbol.iterator]();
  let finished = false; // an iterator that returned or threw needs no return()
  const next = () =>
    Promise.resolve(iterator.next()).then(undefined, (error: unknown) => {
      finished = true;
      throw error;
    });
  try {
    for (;;) {
      const step = await untilAborted(next(), writer.signal, report);
      if (step.done) {
        finished = true;
        return step.value;
      }
      await writer.send(step.value);
    }
  } finally {
    if (!finished) closeIterator(iterator, writer.signal, report);
  }
}

function closeIterator<Event>(
  iterator: AnyIterator<Event>,
  signal: AbortSignal,
  report: (error: unknown) => void,
): void {
  let result: unknown;
  try {
    result = iterator.return?.();
  } catch (error) {
    if (!isCancellation(error, signal)) report(error);
    return;
  }
  Promise.resolve(result).then(undefined, (error: unknown) => {
    if (!isCancellation(error, signal)) report(error);
  });
}

function untilAborted<T>(
  promise: Promise<T>,
  signal: AbortSignal,
  report: (error: unknown) => void,
): Promise<T> {
  if (signal.aborted) {
    // The abandoned promise may still reject; that is the producer failing after the end.
    promise.then(undefined, (error: unknown) => {
      if (!isCancellation(error, signal)) report(error);
    });
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      promise.then(undefined, (error: unknown) => {
        if (!isCancellation(error, signal)) report(error);
      });
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

function isIterable(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  return Symbol.asyncIterator in value || Symbol.iterator in value;
}
