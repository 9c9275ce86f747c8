import { eventStreamResponse } from './_direct.ts';
import { assertProducer } from './_run-producer.ts';
import { Session } from './_session.ts';
import type { EventStreamProducer } from './event-stream.ts';
import { createEventStreamHeaders } from './event-stream-headers.ts';
import {
  type EventStreamOptions,
  type ResolvedEventStreamOptions,
  resolveEventStreamOptions,
} from './options.ts';

/**
 * Answers `request` with an event stream: runs `producer` and streams what it sends as a Web
 * `Response` (status 200, the headers of {@link createEventStreamHeaders}), for any runtime with
 * Web streams: Node adapters, Azure Functions, Netlify, Next.js, Cloudflare, Deno, Bun, Hono.
 *
 * The wire protocol (docs/protocol.md): the events as sent; when the producer returns,
 * `event: done` with its return value as data (JSON, `{}` when it returns nothing); when it
 * throws, `event: error` with a safe JSON payload (`{"message": ..., "code"?: ...}`; the real
 * error goes to `onError`); at the deadline a `retry:` hint and no `done`. A comment every
 * `heartbeatMs` of silence. The producer's `stream.signal` aborts when the client leaves.
 *
 * Options are validated at once: a bad value throws a `TypeError` here, not mid-stream.
 *
 * @example
 * ```ts
 * import { createEventStream } from 'ssekit/server';
 *
 * export async function POST(request: Request): Promise<Response> {
 *   const { prompt } = await request.json();
 *   return createEventStream(request, async (stream) => {
 *     for await (const token of generate(prompt, { signal: stream.signal })) {
 *       await stream.send({ event: 'token', data: token });
 *     }
 *   });
 * }
 * ```
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html
 */
export function createEventStream(
  request: Request,
  producer: EventStreamProducer,
  options?: EventStreamOptions,
): Response {
  if (typeof request?.headers?.get !== 'function' || typeof request.url !== 'string') {
    throw new TypeError(
      'createEventStream: the first argument must be the Web Request being answered (with a Node framework, use an ssekit/adapters wrapper).',
    );
  }
  assertProducer(producer);
  const { response, session } = openEventStream(request, resolveEventStreamOptions(options));
  // never rejects: every failure ends in the stream or in onError
  void session?.run(producer, readLastEventId(request));
  return response;
}

/**
 * The response of an event stream and its session (none for `HEAD`), which the caller feeds:
 * with a producer (`session.run`), or with events it encodes itself (the hub's topics).
 * @internal
 */
export function openEventStream(
  request: Request,
  options: ResolvedEventStreamOptions,
): { response: Response; session: Session | undefined } {
  if (request.method === 'HEAD') {
    const headers = createEventStreamHeaders({
      headers: options.headers,
      cors: options.cors,
      request,
    });
    return { response: new Response(null, { status: 200, headers }), session: undefined };
  }
  const session = new Session({ request, options });
  return { response: eventStreamResponse(session), session };
}

/**
 * The last event ID a resuming client sent: the `Last-Event-ID` header (what `EventSource` and
 * fetch-based clients send), else the `lastEventId` query parameter (for a GET `EventSource`
 * whose URL the page rebuilds, since it cannot set headers), else `""`.
 *
 * @example
 * ```ts
 * import { readLastEventId } from 'ssekit/server';
 *
 * readLastEventId(new Request('https://x.test/feed?lastEventId=41')); // '41'
 * ```
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html#the-last-event-id-header
 */
export function readLastEventId(request: Request): string {
  const header = request.headers.get('last-event-id');
  if (header !== null) return header;
  const url = request.url;
  return url.includes('?') ? (new URL(url).searchParams.get('lastEventId') ?? '') : '';
}
