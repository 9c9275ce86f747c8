/**
 * The direct lane between event streams and ssekit's own Node adapter, for memory and speed with
 * thousands of connections. The adapter's requests tell the stream when the client leaves (no
 * `AbortSignal` per connection unless the handler asks for `request.signal`), and the adapter
 * takes the session behind an event stream's response and writes its events to the socket
 * itself: no `ReadableStream` and reader per connection, no promise per event, and the `Request`
 * and `Response` objects are garbage once the handler has returned.
 *
 * The response of such a stream is a real `Response` (status and headers its own) whose body is
 * made the first time anyone asks for it (`body`, `text()`, `clone()`, ...): a handler that wraps
 * or reads it gets the Web stream as usual, and the adapter then sends it the Web way. Everywhere
 * else (any other runtime, any other request) an event stream is a plain `Response` over a
 * `ReadableStream`.
 */
import type { Session } from './_session.ts';
import { createEventStreamHeaders } from './event-stream-headers.ts';

/** Hears that the client left. */
export interface ClientWatcher {
  clientLeft(reason: unknown): void;
}

/** Names a request in error messages once the `Request` itself is let go. */
export interface RequestName {
  describe(): string;
}

/** The method by which the Node adapter's requests take their {@link ClientWatcher}. */
export const kWatchClient: unique symbol = Symbol('ssekit.watchClient');

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

/** The response of an event stream: status 200, the protocol's headers, the session's body. */
export function eventStreamResponse(session: Session): Response {
  const { request, options } = session;
  const headers = createEventStreamHeaders({
    headers: options.headers,
    cors: options.cors,
    request,
  });
  if (request && isWatchedRequest(request)) return new (directResponseClass())(session, headers);
  return new Response(session.readable, { status: 200, headers });
}

/**
 * The session behind an event stream's response whose body nobody asked for, once: the Node
 * adapter then writes it. `undefined` for any other response, which goes the Web way.
 */
export function takeSession(response: Response): Session | undefined {
  return DirectResponse !== undefined && response instanceof DirectResponse
    ? response[kTake]()
    : undefined;
}

const kTake: unique symbol = Symbol('ssekit.take');

interface DirectResponse extends Response {
  [kTake](): Session | undefined;
}

type DirectResponseClass = new (session: Session, headers: Headers) => DirectResponse;

let DirectResponse: DirectResponseClass | undefined;

// Made at first use (only the Node adapter's requests need it), from the runtime's `Response`.
// A subclass, so that everything but the body is the real thing: `instanceof`, status, headers.
// The body members are the one part to change, and only the constructor of `Response` can make
// the rest.
function directResponseClass(): DirectResponseClass {
  if (DirectResponse) return DirectResponse;
  class Direct extends Response {
    readonly #session: Session;
    /** The response with the body, made when the body is first asked for. */
    #withBody: Response | undefined;
    #taken = false;

    constructor(session: Session, headers: Headers) {
      super(null, { status: 200, headers });
      this.#session = session;
    }

    [kTake](): Session | undefined {
      if (this.#withBody || this.#taken) return undefined;
      this.#taken = true;
      return this.#session;
    }

    static {
      const withBody = (response: Direct): Response => {
        if (!response.#withBody) {
          if (response.#taken) throw new TypeError('The body of this event stream is being sent.');
          const { headers, status } = response;
          response.#withBody = new Response(response.#session.readable, { headers, status });
        }
        return response.#withBody;
      };
      const prototype = Response.prototype as unknown as Record<string, unknown>;
      const define = (name: string, descriptor: PropertyDescriptor) =>
        Object.defineProperty(Direct.prototype, name, { configurable: true, ...descriptor });
      define('body', {
        get(this: Direct) {
          return withBody(this).body;
        },
      });
      define('bodyUsed', {
        get(this: Direct) {
          return this.#withBody?.bodyUsed ?? this.#taken;
        },
      });
      for (const name of ['arrayBuffer', 'blob', 'bytes', 'clone', 'formData', 'json', 'text']) {
        if (typeof prototype[name] !== 'function') continue;
        define(name, {
          writable: true,
          value(this: Direct, ...args: unknown[]) {
            const response = withBody(this) as unknown as Record<
              string,
              (...args: unknown[]) => unknown
            >;
            return response[name]!.apply(response, args);
          },
        });
      }
    }
  }
  DirectResponse = Direct;
  return Direct;
}
