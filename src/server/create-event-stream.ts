import type { WriterChecks } from '../_internal/checked-writer.ts';
import { isWatchedRequest } from '../_internal/direct-lane.ts';
import { directResponse } from '../_internal/direct-response.ts';
import type { FanOutSession } from '../_internal/fan-out.ts';
import { assertProducer } from '../_internal/run-producer.ts';
import { type AnyContract, assertContract } from '../contract/define-contract.ts';
import { writerChecks } from '../contract/validate.ts';
import { createEventStreamHeaders } from './_event-stream-headers.ts';
import { Session } from './_session.ts';
import {
  type EventStreamOptions,
  type ResolvedEventStreamOptions,
  resolveEventStreamOptions,
  type WithContract,
} from './options.ts';
import type { ContractProducer, EventStreamProducer } from './types.ts';

/**
 * The checks of `options.contract` (none without one): what the server and the hub wrap a
 * producer's writer with. Throws a `TypeError` for a contract that is not one.
 * @internal
 */
export function contractChecksOf(
  options: Partial<WithContract> | undefined,
  where: string,
): WriterChecks | undefined {
  if (options?.contract === undefined) return undefined;
  assertContract(options.contract, where);
  const { validate = 'always' } = options;
  if (validate !== 'always' && validate !== 'never') {
    throw new TypeError(`${where}: validate must be 'always' or 'never', got ${String(validate)}.`);
  }
  return writerChecks(options.contract, validate);
}

/**
 * Answers `request` with an event stream: runs `producer` and streams what it sends as a Web
 * `Response` (status 200, the protocol's headers: docs/protocol.md), for any runtime with
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
export function createEventStream<const C extends AnyContract>(
  request: Request,
  producer: ContractProducer<C>,
  options: EventStreamOptions & WithContract<C>,
): Response;
export function createEventStream(
  request: Request,
  producer: EventStreamProducer,
  options?: EventStreamOptions,
): Response;
export function createEventStream(
  request: Request,
  producer: EventStreamProducer | ContractProducer<AnyContract>,
  options?: EventStreamOptions | (EventStreamOptions & WithContract),
): Response {
  if (typeof request?.headers?.get !== 'function' || typeof request.url !== 'string') {
    throw new TypeError(
      'createEventStream: the first argument must be the Web Request being answered (with a Node framework, use an ssekit/adapters wrapper).',
    );
  }
  assertProducer(producer, 'createEventStream');
  const checks = contractChecksOf(options as Partial<WithContract>, 'createEventStream');
  const { response, session } = openSession(request, resolveEventStreamOptions(options));
  // never rejects: every failure ends in the stream or in onError
  void session?.run(producer as EventStreamProducer, readLastEventId(request), checks);
  return response;
}

/**
 * The response of an event stream and its session (none for `HEAD`), for a feeder of encoded
 * events (the hub's topics), which sees the session through src/_internal/fan-out.ts.
 * @internal
 */
export function openEventStream(
  request: Request,
  options: ResolvedEventStreamOptions,
): { response: Response; session: FanOutSession | undefined } {
  return openSession(request, options);
}

function openSession(
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
 * The response of an event stream: status 200, the protocol's headers, the session's body; on
 * the direct lane for a request of ssekit's Node adapter (src/_internal/direct-lane.ts).
 * @internal
 */
export function eventStreamResponse(session: Session): Response {
  const { request, options } = session;
  const headers = createEventStreamHeaders({
    headers: options.headers,
    cors: options.cors,
    request,
  });
  if (request && isWatchedRequest(request)) return directResponse(session, headers);
  return new Response(session.readable, { status: 200, headers });
}

/**
 * The last event ID a resuming client sent: the `Last-Event-ID` header (what `EventSource` and
 * fetch-based clients send, the ID encoded as UTF-8, which is decoded: an ID like `é` comes back
 * as it was sent), else the `lastEventId` query parameter (for a GET `EventSource` whose URL the
 * page rebuilds, since it cannot set headers), else `""`.
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
  if (header !== null) return fromUtf8Bytes(header);
  const url = request.url;
  return url.includes('?') ? (new URL(url).searchParams.get('lastEventId') ?? '') : '';
}

/**
 * A header value read as the UTF-8 its bytes are: runtimes give header bytes one character each
 * (`é` arrives as `Ã©`). A value that is not such bytes (already decoded, or not UTF-8) is kept.
 */
function fromUtf8Bytes(value: string): string {
  if (!/[\x80-\xff]/.test(value) || /[^\0-\xff]/.test(value)) return value;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(
      Uint8Array.from(value, (character) => character.charCodeAt(0)),
    );
  } catch {
    return value; // not UTF-8: an older client's Latin-1, kept as it came
  }
}
