import type { ParseError } from '../errors.ts';
import { createParser, type ParserOptions } from './parser.ts';
import type { ServerSentEvent } from './types.ts';

/** Options of {@link EventStreamDecoder}: the parser's, without `onEvent` and `onError`. */
export type EventStreamDecoderOptions = Omit<ParserOptions, 'onEvent' | 'onError'>;

/**
 * A transform stream from the bytes (or text) of an event stream to its events, for
 * `response.body.pipeThrough(new EventStreamDecoder())`.
 *
 * An event larger than `maxEventSize` errors the readable side with a `ParseError`, but only
 * after every event before it has been read: erroring a `ReadableStream` discards its queue, so
 * the error waits until the consumer has drained it (which a plain `TransformStream` cannot do).
 * The writable side then errors too, which stops a `pipeThrough` source. An incomplete event at
 * the end of the stream is discarded. Backpressure: a write settles when the consumer wants more.
 *
 * @example
 * ```ts
 * import { EventStreamDecoder } from 'ssekit';
 *
 * const response = await fetch('/api/chat', { method: 'POST', body: '{"q":"hi"}' });
 * for await (const event of response.body!.pipeThrough(new EventStreamDecoder())) {
 *   console.log(event.type, event.data, event.id);
 * }
 * ```
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
 */
// A `ReadableWritablePair` by shape (what `pipeThrough` takes), without naming that DOM-only type:
// the published types compile without the DOM lib.
export class EventStreamDecoder {
  readonly readable: ReadableStream<ServerSentEvent>;
  readonly writable: WritableStream<Uint8Array | string>;

  constructor(options: EventStreamDecoderOptions = {}) {
    let output!: ReadableStreamDefaultController<ServerSentEvent>;
    let failure: ParseError | undefined;
    let cancelled: { reason: unknown } | undefined;
    let enqueued = 0;
    let pullPending: (() => void) | undefined; // the consumer waits for an event
    let writePending: (() => void) | undefined; // a write waits for the consumer
    const parser = createParser({
      ...options,
      onEvent(event) {
        if (failure) return; // the stream ends at the oversized event
        output.enqueue(event);
        enqueued++;
      },
      onError(error) {
        failure ??= error;
      },
    });
    const wakeWriter = () => {
      const resolve = writePending;
      writePending = undefined;
      resolve?.();
    };

    this.readable = new ReadableStream<ServerSentEvent>(
      {
        start(controller) {
          output = controller;
        },
        // Called only when a read waits and the queue is empty: the moment to raise a held error.
        pull(controller) {
          if (failure) {
            controller.error(failure);
            return;
          }
          wakeWriter();
          return new Promise<void>((resolve) => {
            pullPending = resolve;
          });
        },
        cancel(reason) {
          cancelled = { reason };
          wakeWriter();
        },
      },
      { highWaterMark: 0 },
    );

    this.writable = new WritableStream<Uint8Array | string>({
      async write(chunk) {
        if (cancelled) throw (cancelled as { reason: unknown }).reason;
        enqueued = 0;
        parser.feed(chunk);
        const pull = pullPending;
        if (failure && enqueued === 0 && pull) output.error(failure);
        else if (enqueued > 0 && pull) {
          pullPending = undefined;
          pull();
        }
        if (failure) throw failure;
        if (!pullPending) await new Promise<void>((resolve) => (writePending = resolve));
        if (cancelled) throw (cancelled as { reason: unknown }).reason;
      },
      close() {
        parser.end();
        output.close();
        pullPending?.();
      },
      abort(reason) {
        output.error(reason);
      },
    });
  }
}
