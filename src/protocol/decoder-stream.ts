import { createParser, type ParserOptions } from './parser.ts';
import type { ServerSentEvent } from './types.ts';

/** Options of {@link EventStreamDecoder}: the parser's, without `onEvent` and `onError`. */
export type EventStreamDecoderOptions = Omit<ParserOptions, 'onEvent' | 'onError'>;

/**
 * A `TransformStream` from the bytes (or text) of an event stream to its events.
 *
 * An event larger than `maxEventSize` errors the stream with a `ParseError`, after every event
 * before it has been enqueued. An incomplete event at the end of the stream is discarded.
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
export class EventStreamDecoder extends TransformStream<Uint8Array | string, ServerSentEvent> {
  constructor(options: EventStreamDecoderOptions = {}) {
    let parser: ReturnType<typeof createParser> | undefined;
    super({
      start(controller) {
        parser = createParser({
          ...options,
          onEvent: (event) => controller.enqueue(event),
          onError: (error) => controller.error(error),
        });
      },
      transform(chunk) {
        parser?.feed(chunk);
      },
      flush() {
        parser?.end();
      },
    });
  }
}
