import { encodeEvent } from './encode.ts';
import type { EventInput } from './types.ts';

/**
 * A `TransformStream` from events to the UTF-8 bytes of an event stream: what a server pipes into
 * a `Response` body. Strings pass through as raw text (already-encoded events or comments).
 *
 * @example
 * ```ts
 * import { EventStreamEncoder } from 'ssekit';
 *
 * const { readable, writable } = new EventStreamEncoder();
 * const writer = writable.getWriter();
 * void writer.write({ event: 'token', data: 'Hello' }).then(() => writer.close());
 * return new Response(readable, { headers: { 'content-type': 'text/event-stream' } });
 * ```
 */
export class EventStreamEncoder extends TransformStream<EventInput | string, Uint8Array> {
  constructor() {
    const encoder = new TextEncoder();
    super({
      transform(chunk, controller) {
        controller.enqueue(encoder.encode(typeof chunk === 'string' ? chunk : encodeEvent(chunk)));
      },
    });
  }
}
