import { isEventStreamType } from '../_internal/http.ts';
import type { FetchLike } from '../client/types.ts';

/**
 * A `fetch` that copies the body of each event-stream response to `write` as the client reads
 * it: `--raw` prints the bytes exactly as received while the client still parses them (for
 * terminal events and Last-Event-ID) and reconnects. Error responses are left alone: the client
 * reads their body for the error message, which goes to stderr.
 */
export function teeEventStreams(
  fetch: FetchLike,
  write: (chunk: Uint8Array) => Promise<void> | undefined,
): FetchLike {
  return async (input, init) => {
    const response = await fetch(input, init);
    if (
      !response.ok ||
      response.status === 204 ||
      !response.body ||
      !isEventStreamType(response.headers.get('content-type'))
    ) {
      return response;
    }
    const copy = new TransformStream<Uint8Array, Uint8Array>({
      // Written before the client parses the chunk, so stdout is never behind the events.
      async transform(chunk, controller) {
        await write(chunk);
        controller.enqueue(chunk);
      },
    });
    return new Response(response.body.pipeThrough(copy), {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
}
