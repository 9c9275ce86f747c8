import { isEventStreamType, responseError } from '../_internal/http.ts';
import type { ServerSentEvent } from '../protocol/types.ts';
import {
  type ConnectionEmit,
  type ConnectionEnd,
  type ConnectionPolicy,
  runConnection,
} from './_connection.ts';
import { EventQueue } from './_event-queue.ts';
import type { IdleSetting } from './_idle.ts';
import { buildInit } from './_request-init.ts';
import { resumeRule } from './_resume-rule.ts';
import { resolveRetry } from './_retry.ts';
import { RUN_ID_HEADER, sendCancel } from './_stop.ts';
import { visibilityPause } from './_visibility.ts';
import type { RetryOptions } from './retry.ts';
import { connectionTerminal, defaultConnectionTerminal, type TerminalRule } from './terminal.ts';
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
  const { init } = buildInit(options);
  const retry = resolveRetry(options.retry);
  if (retry.enabled && init.body instanceof ReadableStream) {
    throw new TypeError(
      'fetchEventStream: a ReadableStream body can be sent only once, so it cannot be resent on reconnection. Pass a string, Blob or ArrayBuffer body (or `json`), or set `retry: false`.',
    );
  }
  checkIdle(options.idleTimeoutMs);
  const fetchImpl = options.fetch ?? globalThis.fetch?.bind(globalThis);
  if (typeof fetchImpl !== 'function') {
    throw new TypeError('fetchEventStream: no global fetch here; pass `fetch` in the options.');
  }
  const href = String(url);
  const closer = new AbortController();
  const queue = new EventQueue(options.highWaterMark ?? 256, options.onEvent === undefined, () =>
    closer.abort(CLOSED),
  );
  closer.signal.addEventListener('abort', () => queue.release(), { once: true });
  let readyState: ReadyState = 'connecting';
  let lastEventId = options.lastEventId ?? '';
  let runId: string | undefined;
  let terminal: ServerSentEvent | undefined;
  const userSignal = options.signal;
  const onUserAbort = () => closer.abort(userSignal?.reason);
  if (userSignal?.aborted) onUserAbort();
  else userSignal?.addEventListener('abort', onUserAbort, { once: true });

  const policy: ConnectionPolicy = {
    maxEventSize: options.maxEventSize,
    idleTimeoutMs: options.idleTimeoutMs,
    commentsResetIdle: options.commentsResetIdle ?? false,
    pause: options.pauseWhenHidden ? visibilityPause() : undefined,
    async accept(response, method, requestUrl) {
      if (response.status === 204) return false;
      if (!response.ok || !isEventStreamType(response.headers.get('content-type')))
        throw await responseError(response, method, requestUrl);
      return true;
    },
    terminal: options.isTerminal
      ? connectionTerminal(options.isTerminal)
      : defaultConnectionTerminal,
    decide: resumeRule(retry),
  };
  const emit: ConnectionEmit = (message) => {
    switch (message.type) {
      case 'event':
        lastEventId = message.event.id;
        options.onEvent?.(message.event);
        return queue.push(message.event);
      case 'id':
        lastEventId = message.lastEventId;
        return;
      case 'terminal':
        lastEventId = message.event.id;
        terminal = message.event;
        return;
      case 'open':
        readyState = 'open';
        runId = message.response.headers.get(RUN_ID_HEADER) ?? runId;
        options.onOpen?.(message.response);
        return;
      case 'comment':
        options.onComment?.(message.comment);
        return;
      case 'connecting':
        readyState = 'connecting';
        terminal = undefined;
        return;
      case 'reconnect':
        readyState = 'connecting';
        options.onRetry?.({
          attempt: message.attempt,
          delayMs: message.delayMs,
          error: message.error,
        });
        return;
    }
  };
  const request = { url: href, init, fetch: fetchImpl, lastEventId, resume: options.resume };
  const finished = runConnection({ request, policy, signal: closer.signal }, emit).then(
    (end) => settle(completeOutcome(end)),
    (error: unknown) => settle(failureOutcome(error, closer.signal, userSignal, terminal)),
  );

  function settle(outcome: CloseInfo): void {
    readyState = 'closed';
    userSignal?.removeEventListener('abort', onUserAbort);
    if (!closer.signal.aborted) closer.abort(CLOSED);
    options.onClose?.(outcome);
    if (outcome.reason === 'error' || outcome.reason === 'aborted') {
      queue.fail(outcome.error);
      throw outcome.error;
    }
    queue.end();
  }
  // `finished` rejects on error; iteration reports the same error, so an unobserved `finished`
  // must not become an unhandled rejection.
  finished.catch(() => {});

  return {
    get readyState() {
      return readyState;
    },
    get lastEventId() {
      return lastEventId;
    },
    finished,
    close() {
      closer.abort(CLOSED);
    },
    async stop() {
      const id = runId;
      const running = !closer.signal.aborted; // not ended, closed or stopped already
      // Sent first, then the connection closes: the cancel does not wait for the close.
      const cancel =
        running && id !== undefined ? sendCancel(fetchImpl, href, init, id) : undefined;
      closer.abort(STOPPED);
      return cancel ?? { outcome: 'not-cancellable', runId: id };
    },
    [Symbol.asyncIterator]: () => queue.iterate(),
  };
}

const CLOSED = Symbol('closed');
const STOPPED = Symbol('stopped');

function completeOutcome(end: ConnectionEnd): CloseInfo {
  if (end.reason === 'no-content') return { reason: 'no-content' };
  return end.event ? { reason: 'done', event: end.event } : { reason: 'done' };
}

function failureOutcome(
  error: unknown,
  signal: AbortSignal,
  userSignal: AbortSignal | undefined,
  terminal: ServerSentEvent | undefined,
): CloseInfo {
  if (signal.aborted && signal.reason === CLOSED) return { reason: 'closed' };
  if (signal.aborted && signal.reason === STOPPED) return { reason: 'stopped' };
  if (userSignal?.aborted && error === userSignal.reason) return { reason: 'aborted', error };
  return terminal ? { reason: 'error', event: terminal, error } : { reason: 'error', error };
}

function checkIdle(value: IdleSetting): void {
  if (value === undefined || value === 'auto' || (typeof value === 'number' && value >= 0)) return;
  throw new TypeError(
    `fetchEventStream: idleTimeoutMs must be a number of milliseconds or 'auto', got ${String(value)}.`,
  );
}
