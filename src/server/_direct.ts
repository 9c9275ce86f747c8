/**
 * The direct lane between event streams and ssekit's own Node adapter, for memory and speed with
 * thousands of connections. The adapter's requests tell the stream when the client leaves (no
 * `AbortSignal` per connection unless the handler asks for `request.signal`), and the adapter
 * takes the session behind an event stream's `Response` and writes its events to the socket
 * itself: no `ReadableStream` reader per connection, no promise per event, and the `Request` and
 * `Response` objects are garbage once the handler has returned.
 *
 * Everywhere else (any other runtime or consumer), an event stream is a plain `Response` over a
 * `ReadableStream`.
 */
import type { Session } from './_session.ts';
import { createEventStreamHeaders } from './event-stream-headers.ts';

/** Hears that the client left. */
export interface ClientWatcher {
  clientLeft(reason: unknown): void;
}

/** The method by which the Node adapter's requests take their {@link ClientWatcher}. */
export const kWatchClient: unique symbol = Symbol('ssekit.watchClient');

/** Names a request in error messages once the `Request` itself is let go. */
export interface RequestName {
  describe(): string;
}

/** The method by which the Node adapter's requests give their {@link RequestName}. */
export const kRequestName: unique symbol = Symbol('ssekit.requestName');

/** A request from ssekit's Node adapter: it calls its watcher when the client leaves. */
export interface WatchedRequest extends Request {
  /** Sets the one watcher (called at once if the client left already). */
  [kWatchClient](watcher: ClientWatcher): void;
  /** An object that lives as long as the connection anyway (so naming it costs nothing). */
  [kRequestName](): RequestName;
}

/** True for a request of ssekit's Node adapter. */
export function isWatchedRequest(request: Request): request is WatchedRequest {
  return typeof (request as Partial<WatchedRequest>)[kWatchClient] === 'function';
}

const sessions = new WeakMap<Response, Session>();

/** The response of an event stream: status 200, the protocol's headers, the session's body. */
export function eventStreamResponse(session: Session): Response {
  const { request, options } = session;
  const headers = createEventStreamHeaders({
    headers: options.headers,
    cors: options.cors,
    request,
  });
  const response = new Response(session.readable, { status: 200, headers });
  if (request && isWatchedRequest(request)) sessions.set(response, session);
  return response;
}

/**
 * The session behind an event stream's response whose body nobody has touched, for the Node
 * adapter to write; `undefined` for any other response (and for a body wrapped in another
 * `Response`), which goes the Web way. Once taken, the body stream reads as empty.
 */
export function takeSession(response: Response): Session | undefined {
  const session = sessions.get(response);
  if (session === undefined) return undefined;
  sessions.delete(response);
  const body = response.body;
  if (response.bodyUsed || body === null || body.locked || body !== session.readable) {
    return undefined;
  }
  return session;
}
