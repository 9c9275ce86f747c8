import type { ServerSentEvent } from '../protocol/types.ts';
import { type Connection, methodOf, runConnection } from './_connection.ts';
import { createEventQueue, type EventSink } from './_event-queue.ts';
import { createResumeRule } from './_resume-rule.ts';
import { RUN_ID_HEADER } from './_run-start.ts';
import { sendCancel } from './_stop.ts';
import type { RetryOptions } from './retry.ts';
import { connectionTerminal, defaultTerminal, type TerminalRule } from './terminal.ts';
import type { FetchLike, ReadyState, ResumeBuilder, StopResult } from './types.ts';

/** How a stream ended, as `onClose` reports it. */
export interface CloseInfo {
  /**
   * `done`: the stream is complete: a terminal event arrived (`event`), or the body ended;
   * `closed`: `close()` or a `break`; `stopped`: `stop()`; `aborted`: `options.signal` aborted;
   * `no-content`: HTTP 204 (the spec's "do not reconnect"); `error`: a fatal error (`error`, and
   * `event` when an error event caused it).
   */
  reason: 'done' | 'closed' | 'stopped' | 'aborted' | 'no-content' | 'error';
  event?: ServerSentEvent;
  error?: unknown;
}

/** Options of {@link fetchEventStream}: everything `fetch` takes, plus the event-stream ones. */
export interface FetchEventStreamOptions extends Omit<RequestInit, 'signal'> {
  /** A value to send as JSON (sets `content-type: application/json` unless already set). */
  json?: unknown;
  /** Cancels the stream: the iterator rejects with `signal.reason`. */
  signal?: AbortSignal | undefined;
  /** @default globalThis.fetch */
  fetch?: FetchLike | undefined;
  /** Start from a known event ID (after a page reload, say): sent as `Last-Event-ID`. */
  lastEventId?: string | undefined;
  /**
   * Reconnection policy; `false` turns reconnection off. Whatever it says, a stream that
   * delivered events is only ever resumed (an event ID to send, or a GET), never sent again.
   * @default { initialDelayMs: 1000, maxDelayMs: 30000, maxAttempts: 10, maxElapsedMs: Infinity }
   */
  retry?: RetryOptions | boolean | undefined;
  /**
   * No event within this interval (the wait for the response included) counts as a cut
   * connection: resumed when it can be, else a `stream-cut` error. `'auto'` learns the stream's
   * cadence (tokens, heartbeats: any bytes) and times out at 4 times the longest gap seen, between
   * 5 s and 60 s (60 s for the response and its first bytes).
   */
  idleTimeoutMs?: number | 'auto' | undefined;
  /**
   * Whether comments (heartbeats) count as activity for a fixed `idleTimeoutMs` (with `'auto'`
   * they always do).
   * @default false
   */
  commentsResetIdle?: boolean | undefined;
  /**
   * Which events end the stream, and how (see `TerminalVerdict`). Replace the rule, or add to it:
   * `(event) => event.type === 'bye' || defaultTerminal(event)`.
   * @default defaultTerminal: ssekit, OpenAI Chat and Responses, Anthropic, Gemini, AI SDK
   */
  isTerminal?: TerminalRule | undefined;
  /** @default 16_777_216 (see the parser) */
  maxEventSize?: number | undefined;
  /** Builds a different request to resume (a GET to a resume URL, say). */
  resume?: ResumeBuilder | undefined;
  /**
   * In a browser, drop the connection while the page is hidden and resume it (with
   * `Last-Event-ID`, never re-running the request) when it is visible again. A stream without an
   * event ID yet stays connected.
   * @default false
   */
  pauseWhenHidden?: boolean | undefined;
  /**
   * Events buffered for a slow `for await` loop before reading pauses (backpressure).
   * @default 256
   */
  highWaterMark?: number | undefined;
  onOpen?: ((response: Response) => void) | undefined;
  onEvent?: ((event: ServerSentEvent) => void) | undefined;
  onComment?: ((comment: string) => void) | undefined;
  /**
   * Before each reconnection. `error` is why: the failure, or, for a planned resume (the server
   * ended the response with a `retry:` hint, like ssekit's deadline), a `StreamError`
   * `ended-early`.
   */
  onRetry?: ((info: { attempt: number; delayMs: number; error: unknown }) => void) | undefined;
  onClose?: ((info: CloseInfo) => void) | undefined;
}

/** A running event stream: iterate it, or use the callbacks and await `finished`. */
export interface EventStream extends AsyncIterable<ServerSentEvent> {
  /** `connecting` (also while waiting to reconnect), `open`, or `closed`. */
  readonly readyState: ReadyState;
  /** The last event ID received: what a reconnection sends as `Last-Event-ID`. */
  readonly lastEventId: string;
  /** Settles when the stream ends: resolves when it is complete or closed, rejects on error. */
  readonly finished: Promise<void>;
  /** Ends the stream at once and frees the connection; iteration ends quietly. */
  close(): void;
  /**
   * Stops the producer on the server, not just the connection: when the response named a run
   * (ssekit's hub sends `ssekit-run-id`), re-sends the request with `ssekit-cancel`, then closes
   * like `close()`. Resolves with how it went; never rejects.
   */
  stop(): Promise<StopResult>;
}

/**
 * Consumes an event stream over `fetch`, with any method and body. It resumes, never re-runs: a
 * stream that delivered events reconnects only when it can resume (an event ID to send as
 * `Last-Event-ID`, or a GET); a clean end is completion unless the server asked to be resumed;
 * the terminal and error events of ssekit, OpenAI, Anthropic, Gemini and the AI SDK are known.
 *
 * @example
 * ```ts
 * import { fetchEventStream } from 'ssekit/client';
 *
 * const stream = fetchEventStream('/api/chat', { method: 'POST', json: { prompt: 'Hi' } });
 * for await (const event of stream) {
 *   if (event.type === 'token') output.textContent += JSON.parse(event.data).text;
 * }
 * ```
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html
 */
export function fetchEventStream(
  url: string | URL,
  options: FetchEventStreamOptions = {},
): EventStream {
  const queue = createEventQueue(options.highWaterMark ?? 256, !options.onEvent, () =>
    stream.close(),
  );
  const stream = startEventStream(url, options, queue) as EventStream;
  stream[Symbol.asyncIterator] = queue.iterate;
  return stream;
}

/**
 * `fetchEventStream` without its iterator: what the React hook uses (events reach it through
 * `onEvent`). `sink` gets the events for iteration.
 * @internal
 */
export function startEventStream(
  url: string | URL,
  options: FetchEventStreamOptions,
  sink?: EventSink,
): Omit<EventStream, typeof Symbol.asyncIterator> {
  // Everything that is not the client's own option goes to fetch.
  const {
    json,
    signal: userSignal,
    fetch = globalThis.fetch?.bind(globalThis),
    lastEventId = '',
    retry,
    idleTimeoutMs,
    commentsResetIdle,
    isTerminal,
    maxEventSize,
    resume,
    pauseWhenHidden,
    highWaterMark,
    onOpen,
    onEvent,
    onComment,
    onRetry,
    onClose,
    ...rest
  } = options;
  // Fails to compile when an option is added above the line and not taken out here (it would
  // reach fetch).
  const init: RequestInit & Record<Exclude<keyof typeof rest, keyof RequestInit>, never> = rest;
  if (json !== undefined) {
    if (init.body != null)
      throw new TypeError('fetchEventStream: pass either `json` or `body`, not both.');
    init.body = JSON.stringify(json);
    const headers = new Headers(init.headers);
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    init.headers = headers;
    init.method ??= 'POST';
  }
  const method = methodOf(init);
  if ((method === 'GET' || method === 'HEAD') && init.body != null)
    throw new TypeError(`fetchEventStream: a ${method} request cannot have a body.`);
  if (retry !== false && init.body instanceof ReadableStream)
    throw new TypeError(
      'fetchEventStream: a ReadableStream body can be sent only once: use another body, or `retry: false`.',
    );
  if (!(idleTimeoutMs === undefined || idleTimeoutMs === 'auto' || idleTimeoutMs >= 0))
    throw new TypeError(
      `fetchEventStream: idleTimeoutMs must be a number of milliseconds or 'auto', got ${String(idleTimeoutMs)}.`,
    );
  if (typeof fetch !== 'function')
    throw new TypeError('fetchEventStream: no global fetch here; pass `fetch`.');
  const href = String(url);
  let runId: string | undefined;
  // The options the core reads as they are (resume, maxEventSize, idleTimeoutMs, commentsResetIdle,
  // pauseWhenHidden, onComment) come with the spread.
  const connection: Connection = {
    ...options,
    url: href,
    init,
    fetch,
    isTerminal: isTerminal ? connectionTerminal(isTerminal) : (defaultTerminal as never),
    decide: () => undefined, // replaced below: the rule reads this object's state
    onOpen(response) {
      runId = response.headers.get(RUN_ID_HEADER) ?? runId;
      onOpen?.(response);
    },
    onEvent(event) {
      onEvent?.(event);
      return sink?.push(event);
    },
    lastEventId,
    delivered: 0,
    readyState: 'connecting',
  };
  connection.decide = createResumeRule(retry, connection, onRetry);
  // The abort reasons of close() (and break) and stop(): what onClose gets.
  const closed: CloseInfo = { reason: 'closed' };
  const stopped: CloseInfo = { reason: 'stopped' };
  const closer = new AbortController();
  if (sink) closer.signal.addEventListener('abort', sink.release);
  const onUserAbort = () => closer.abort(userSignal?.reason);
  userSignal?.addEventListener('abort', onUserAbort);
  if (userSignal?.aborted) onUserAbort();

  const settle = (info: CloseInfo): void => {
    connection.readyState = 'closed';
    userSignal?.removeEventListener('abort', onUserAbort);
    closer.abort(closed);
    const failed = 'error' in info;
    sink?.end(failed ? info : undefined);
    onClose?.(info);
    if (failed) throw info.error;
  };
  const finished = runConnection(connection, closer.signal).then(
    (event) =>
      settle(
        event ? { reason: 'done', event } : { reason: event === null ? 'no-content' : 'done' },
      ),
    (error: unknown) => {
      const why = closer.signal.reason;
      const { terminal } = connection;
      settle(
        why === closed || why === stopped
          ? why
          : userSignal?.aborted && error === userSignal.reason
            ? { reason: 'aborted', error }
            : terminal
              ? { reason: 'error', event: terminal, error }
              : { reason: 'error', error },
      );
    },
  );
  // `finished` rejects on error; iteration reports the same error, so an unobserved `finished`
  // must not become an unhandled rejection.
  finished.catch(() => {});

  return {
    get readyState() {
      return connection.readyState;
    },
    get lastEventId() {
      return connection.lastEventId;
    },
    finished,
    close() {
      closer.abort(closed);
    },
    async stop() {
      const id = runId;
      // Sent first (unless the stream ended already), then the connection closes: the cancel does
      // not wait for the close.
      const cancel =
        closer.signal.aborted || id === undefined ? undefined : sendCancel(fetch, href, init, id);
      closer.abort(stopped);
      return cancel ?? { outcome: 'not-cancellable', runId: id };
    },
  };
}
