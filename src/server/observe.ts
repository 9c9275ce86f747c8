/**
 * The observer seam of a stream: what a tracing or metrics layer (`ssekit/otel`, or your own)
 * learns of each stream, without the core importing any of it. The core calls `observe` once per
 * stream (never for `HEAD`), and the observer it returns as the stream goes: an event queued,
 * bytes handed to the client, the end and why. Nothing is called, and nothing costs, without one.
 *
 * @module
 */

/**
 * Why a stream ended, once:
 * - `completed`: the producer returned (or called `close()`), and its end went out;
 * - `client-left`: the client went away (a closed connection, a cancelled body);
 * - `deadline`: `maxDurationMs` was reached (a `retry:` hint went out: the client resumes);
 * - `cancelled`: the server's `signal` aborted (a shutdown), or the hub run it streamed was
 *   cancelled;
 * - `error`: the producer threw (or a hub topic failed): its `error` event went out;
 * - `slow-consumer`: the client was dropped for not reading (`maxBufferedBytes`,
 *   `writeTimeoutMs`).
 */
export type StreamEndReason =
  | 'completed'
  | 'client-left'
  | 'deadline'
  | 'cancelled'
  | 'error'
  | 'slow-consumer';

/** A stream as its observer first sees it. */
export interface ObservedStream {
  /** The request answered; `undefined` for a relay made without one. */
  readonly request: Request | undefined;
  /** For a response of a hub run: the run, and whether this response resumes it. */
  readonly run?: ObservedRun | undefined;
  /** For a hub subscription: the topics it follows (when it opens). */
  readonly topics?: readonly string[] | undefined;
}

/** The run a hub response streams (see `HubObserver` in `ssekit/hub`). */
export interface ObservedRun {
  readonly id: string;
  /** True for a response that resumes the run (the request had its `Last-Event-ID`). */
  readonly resumed: boolean;
  /**
   * What the run's observer asked to keep with the run (its trace context), on any instance;
   * `undefined` when it kept nothing or it expired.
   */
  readonly context: string | undefined;
}

/** What the core tells about one stream. Keep each call cheap: `event` runs once per event. */
export interface StreamObserver {
  /** An event was queued for the client (comments, heartbeats and `retry:` hints are not). */
  event(): void;
  /** Bytes were handed to the client (one call per write: events, heartbeats, the end). */
  sent(bytes: number): void;
  /**
   * The stream is over and released: called once, last. `error` is the producer's error for
   * `error`, the `StreamError` for `slow-consumer`, else `undefined`.
   */
  end(reason: StreamEndReason, error: unknown): void;
  /**
   * Runs the producer (its whole run, sync part and promise): to make the stream's context the
   * producer's, so that what it does is traced under the stream.
   */
  within?<T>(run: () => T): T;
}

/**
 * The `observe` option: called when a stream opens; returns its observer, or `undefined` to leave
 * this one alone. A throw is a bug of the observer: it fails the request.
 *
 * @example
 * ```ts
 * import { createEventStream, type ObserveStream } from 'ssekit/server';
 *
 * const observe: ObserveStream = ({ request }) => {
 *   const started = Date.now();
 *   let events = 0;
 *   return {
 *     event: () => void events++,
 *     sent: () => {},
 *     end: (reason) => console.log(request?.url, reason, events, Date.now() - started),
 *   };
 * };
 * export const GET = (request: Request) =>
 *   createEventStream(request, async (stream) => {
 *     await stream.send({ data: 'hi' });
 *   }, { observe });
 * ```
 */
export type ObserveStream = (stream: ObservedStream) => StreamObserver | undefined;
