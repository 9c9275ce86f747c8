/**
 * The seam between an event stream (src/server) and what feeds it pre-encoded events without a
 * producer: the hub's topics, which encode each entry once and hand the same bytes to every
 * subscriber. It imports nothing: the server's session implements {@link FanOutSession}, the
 * hub's subscribers implement {@link FanOutOwner}, and `openEventStream` (src/server) opens one.
 * @internal
 */

/** Hears that a session stopped taking events (the client left, or it was dropped). */
export interface FanOutOwner {
  sessionEnded(session: FanOutSession): void;
}

/** How a feeder ends a session: with an error (its `error` event, if any, goes out last). */
export interface FanOutFailure {
  kind: 'error';
  error: unknown;
}

/** An event stream as a feeder of encoded events sees it. */
export interface FanOutSession {
  /** Told when the session stops taking events; set once, by the feeder. */
  owner: FanOutOwner | undefined;
  /** True once the stream takes no more events. */
  readonly aborted: boolean;
  /**
   * Lets the request go (nothing can ask for it without a producer): an idle connection then
   * holds neither it nor its headers. `name`, shared by the feeder's sessions, is what messages
   * call the stream from then on.
   */
  releaseRequest(name: string): void;
  /**
   * Queues an encoded event (bytes that may be shared between sessions), without a promise: true
   * while there is room, false when the queue is above its high-water mark or the stream is
   * over. `time` is the server clock's `now()` (src/_internal/timers.ts), which a feeder that
   * delivers to many sessions reads once.
   */
  deliver(bytes: Uint8Array, key?: string, time?: number): boolean;
  /** Resolves once the queue is within its high-water mark; rejects once the stream failed. */
  waitForRoom(): Promise<void>;
  /** Ends the stream. */
  finish(outcome: FanOutFailure): void;
}
