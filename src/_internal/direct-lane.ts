/**
 * The direct lane between event streams (src/server) and ssekit's own Node adapter
 * (src/adapters), for memory and speed with thousands of connections: the protocol both sides
 * speak, and nothing else. It imports nothing; each side implements its half.
 *
 * - The adapter's requests are {@link WatchedRequest}s: they tell one {@link ClientWatcher} when
 *   the client leaves (no `AbortSignal` per connection unless the handler asks for
 *   `request.signal`), and name themselves once the `Request` is let go.
 * - An event stream answering such a request is a {@link DirectBody}: the adapter takes it from
 *   the response (src/_internal/direct-response.ts) and attaches itself as its {@link ByteSink},
 *   so events go to the socket with no `ReadableStream`, reader or promise per connection.
 *
 * Everywhere else (any other runtime, any other request) an event stream is a plain `Response`
 * over a `ReadableStream`.
 * @internal
 */

/** A consumer that writes chunks on (a socket): the adapter's side of a {@link DirectBody}. */
export interface ByteSink {
  /** Takes a chunk; false when it is full: nothing more until the body hears `drained()`. */
  write(chunk: Uint8Array): boolean;
  /**
   * Bytes taken by `write` and not sent yet (what the socket holds in the process): the body
   * counts them against its cap, so that a frozen client holds no more than the cap in all.
   */
  readonly pendingBytes: number;
  /** The stream ended and everything was written: end the response. */
  end(): void;
  /** The stream failed or was cut off: cut the response. */
  fail(reason: unknown): void;
}

/** Hears that the client left. */
export interface ClientWatcher {
  clientLeft(reason: unknown): void;
}

/** Names a request in error messages once the `Request` itself is let go. */
export interface RequestName {
  describe(): string;
}

/** The body of an event stream that the Node adapter writes to its socket itself. */
export interface DirectBody extends ClientWatcher {
  /** The body as a Web stream, for a handler that reads or wraps the response after all. */
  readonly readable: ReadableStream<Uint8Array>;
  /** Hands the body to the adapter: what is queued goes out now, the rest as it comes. */
  attach(sink: ByteSink): void;
  /** The sink has room again (Node's `drain`). */
  drained(): void;
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
