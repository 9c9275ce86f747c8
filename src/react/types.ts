import type { FetchEventStreamOptions } from '../client/fetch-event-stream.ts';
import type { StopResult } from '../client/types.ts';
import type { ServerSentEvent } from '../protocol/types.ts';

/**
 * Where a stream is:
 * - `idle`: never started;
 * - `connecting`: `start()` was called, no response yet;
 * - `open`: a response is streaming (also after a reconnection);
 * - `reconnecting`: the connection dropped and the client waits `retry.delayMs`, then resumes with
 *   `Last-Event-ID`;
 * - `closed`: it ended normally (a terminal event, the end of the response, HTTP 204, `stop()`);
 * - `error`: it failed for good (`error` says why).
 */
export type EventStreamStatus =
  | 'idle'
  | 'connecting'
  | 'open'
  | 'reconnecting'
  | 'closed'
  | 'error';

/** The reconnection being waited for, while `status` is `reconnecting`. */
export interface EventStreamRetry {
  /** Consecutive failed attempts so far: 1 for the first reconnection after a delivered event. */
  attempt: number;
  /** How long the client waits before it. */
  delayMs: number;
  /** Why the previous attempt ended (a network error, a stream cut at the server's deadline, ...). */
  error: unknown;
}

/** What `onRetry` gets: the reconnection, and where the stream was when it dropped. */
export interface EventStreamRetryInfo extends EventStreamRetry {
  /** The text accumulated so far: where a UI puts a "resumed" marker. */
  text: string;
  /** What the reconnection sends as `Last-Event-ID`. */
  lastEventId: string;
}

/** What `onDone` gets when a stream ends normally. */
export interface EventStreamDoneInfo {
  /** The whole accumulated text. */
  text: string;
  /** The terminal event (`event: done`, `message_stop`, ...); absent when the body just ended. */
  event?: ServerSentEvent;
  lastEventId: string;
}

/** The state `useEventStream` renders from. */
export interface EventStreamSnapshot {
  status: EventStreamStatus;
  /** The text deltas of the events so far (see `toText`), reset by `start()`. */
  text: string;
  /** The last `maxEvents` events, oldest first, reset by `start()`. */
  events: readonly ServerSentEvent[];
  /** Why the stream failed, while `status` is `error`. */
  error: unknown;
  /** The last event ID received. */
  lastEventId: string;
  /** The reconnection being waited for, while `status` is `reconnecting`. */
  retry: EventStreamRetry | undefined;
}

/** The options of `fetchEventStream` the hook does not take, or takes with its own meaning. */
type ReplacedOption =
  | 'json'
  | 'signal'
  | 'highWaterMark'
  | 'onOpen'
  | 'onEvent'
  | 'onRetry'
  | 'onClose';

/**
 * Options of `useEventStream`: those of `fetchEventStream` (method, headers, retry, idle timeout,
 * `fetch`, ...), read when `start()` runs, plus rendering and callbacks. Callbacks are always the
 * latest ones passed: changing them never reconnects.
 */
export interface UseEventStreamOptions extends Omit<FetchEventStreamOptions, ReplacedOption> {
  /**
   * How many events `events` keeps (the oldest are dropped); `0` keeps none, for token streams
   * where only `text` matters.
   * @default 100
   */
  maxEvents?: number | undefined;
  /**
   * The text an event adds to `text` (`undefined` or `""` for none).
   * @default defaultToText: the text deltas of known formats (OpenAI, Anthropic, Gemini, AI SDK,
   * `{text}`), and `message` / `token` data as sent
   */
  toText?: ((event: ServerSentEvent) => string | null | undefined) | undefined;
  /**
   * Updates are batched and rendered once per animation frame; where frames do not run (a hidden
   * tab, a test environment), at most this long after an event.
   * @default 50
   */
  flushMs?: number | undefined;
  onOpen?: ((response: Response) => void) | undefined;
  /** Each non-terminal event as it arrives, unbatched. */
  onEvent?: ((event: ServerSentEvent) => void) | undefined;
  /** Before each reconnection. */
  onRetry?: ((info: EventStreamRetryInfo) => void) | undefined;
  /** When the stream ends normally (not on `stop()`). */
  onDone?: ((info: EventStreamDoneInfo) => void) | undefined;
  /** When the stream fails for good. */
  onError?: ((error: unknown) => void) | undefined;
  /**
   * After `stop()`: whether the producer was stopped on the server (`cancelled`), or only the
   * connection closed (`not-cancellable`: the server is not ssekit's hub). Without it, a cancel
   * request that failed is logged with `console.warn`.
   */
  onStop?: ((result: StopResult) => void) | undefined;
}

/** What `useEventStream` returns: the snapshot, and the two controls. */
export interface UseEventStreamResult extends EventStreamSnapshot {
  /**
   * Starts a stream (ending the current one): with `body`, a POST of it as JSON; without, the
   * request the options describe (a GET by default). Resets `text`, `events` and `error`. The
   * request goes out in a microtask, so StrictMode's mount-unmount-mount sends it once.
   */
  start: (body?: unknown) => void;
  /**
   * Stops the stream: when the server is ssekit's hub (its responses carry `ssekit-run-id`), the
   * producer too, with a cancel request; then aborts the connection. `status` becomes `closed`;
   * `onStop` hears how the cancel went. Unmounting only disconnects.
   */
  stop: () => void;
}
