/**
 * Runs a producer in any of its forms and returns what it returned (the payload of `done`).
 */
import type { EventStream, EventStreamEvent, EventStreamProducer } from './event-stream.ts';

type AnyIterator = AsyncIterator<EventStreamEvent, unknown> | Iterator<EventStreamEvent, unknown>;

/** Throws a `TypeError` unless `producer` is a function or an (async) iterable. */
export function assertProducer(producer: unknown): asserts producer is EventStreamProducer {
  if (typeof producer === 'function' || isIterable(producer)) return;
  throw new TypeError(
    `createEventStream: the producer must be a function or an (async) iterable of events, got ${producer === null ? 'null' : typeof producer}.`,
  );
}

/**
 * Runs `producer` to the end. `report` receives late failures that have nowhere else to go (an
 * iterator's cleanup that throws after the stream ended).
 */
export async function runProducer(
  producer: EventStreamProducer,
  stream: EventStream,
  report: (error: unknown) => void,
): Promise<unknown> {
  const result = typeof producer === 'function' ? await producer(stream) : producer;
  if (typeof producer === 'function' && !isIterable(result)) return result;
  return pump(
    result as Iterable<EventStreamEvent> | AsyncIterable<EventStreamEvent>,
    stream,
    report,
  );
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
// wait for it: the race gives up on the pending next() and asks the iterator to return, so a
// generator's `finally` runs as soon as it reaches its next `yield` (at once if it awaits
// `stream.signal`).
async function pump(
  iterable: Iterable<EventStreamEvent> | AsyncIterable<EventStreamEvent>,
  stream: EventStream,
  report: (error: unknown) => void,
): Promise<unknown> {
  const iterator: AnyIterator =
    Symbol.asyncIterator in iterable
      ? iterable[Symbol.asyncIterator]()
      : (iterable as Iterable<EventStreamEvent>)[Symbol.iterator]();
  let finished = false; // an iterator that returned or threw needs no return()
  const next = () =>
    Promise.resolve(iterator.next()).then(undefined, (error: unknown) => {
      finished = true;
      throw error;
    });
  try {
    for (;;) {
      const step = await untilAborted(next(), stream.signal, report);
      if (step.done) {
        finished = true;
        return step.value;
      }
      await stream.send(step.value);
    }
  } finally {
    if (!finished) closeIterator(iterator, stream.signal, report);
  }
}

function closeIterator(iterator: AnyIterator, signal: AbortSignal, report: (e: unknown) => void) {
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
