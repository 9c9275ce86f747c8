import { isEventStreamType, responseError } from '../_internal/http.ts';
import { ServerError, StreamError } from '../errors.ts';
import type { ServerSentEvent } from '../protocol/types.ts';
import { type ConnectionEnd, runConnection, StreamEndedError } from './connection.ts';
import { EventQueue } from './event-queue.ts';
import { backoffDelay, type RetryOptions, resolveRetry, retryAfterMs } from './retry.ts';
import type { FetchLike, ReadyState, ResumeBuilder } from './types.ts';
import { visibilityPause } from './visibility.ts';

/** How a stream ended, as `onClose` reports it. */
export interface CloseInfo {
  /**
   * `done`: a terminal event arrived (`event`); `closed`: `close()` or a `break`; `aborted`:
   * `options.signal` aborted; `no-content`: HTTP 204 (the spec's "do not reconnect");
   * `error`: a fatal error (`error`).
   */
  reason: 'done' | 'closed' | 'aborted' | 'no-content' | 'error';
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
   * Reconnection policy; `false` turns reconnection off.
   * @default { initialDelayMs: 1000, maxDelayMs: 30000, maxAttempts: 10, maxElapsedMs: Infinity }
   */
  retry?: RetryOptions | boolean | undefined;
  /** No event within this interval aborts the attempt and reconnects (stalled streams). */
  idleTimeoutMs?: number | undefined;
  /**
   * Whether comments (heartbeats) count as activity for `idleTimeoutMs`.
   * @default false
   */
  commentsResetIdle?: boolean | undefined;
  /**
   * Which events end the stream (they are not yielded; `onClose` gets them).
   * @default `event: done`, `event: error` (rejects with a ServerError) and `data: [DONE]`
   */
  isTerminal?: ((event: ServerSentEvent) => boolean) | undefined;
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
  onRetry?: ((info: { attempt: number; delayMs: number; error: unknown }) => void) | undefined;
  onClose?: ((info: CloseInfo) => void) | undefined;
}

/** A running event stream: iterate it, or use the callbacks and await `finished`. */
export interface EventStream extends AsyncIterable<ServerSentEvent> {
  /** `connecting` (also while waiting to reconnect), `open`, or `closed`. */
  readonly readyState: ReadyState;
  /** The last event ID received: what a reconnection sends as `Last-Event-ID`. */
  readonly lastEventId: string;
  /** Settles when the stream ends: resolves on a terminal event or close, rejects on error. */
  readonly finished: Promise<void>;
  /** Ends the stream at once and frees the connection; iteration ends quietly. */
  close(): void;
}

/** The default terminal events: `event: done`, `event: error` and OpenAI's `data: [DONE]`. */
export function isDefaultTerminal(event: ServerSentEvent): boolean {
  return event.type === 'done' || event.type === 'error' || event.data === '[DONE]';
}

/**
 * Consumes an event stream over `fetch`, with any method and body, and resumes it with
 * `Last-Event-ID` when the connection drops or the stream ends early.
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
  const { init, method } = buildInit(options);
  const retry = resolveRetry(options.retry);
  if (retry.enabled && init.body instanceof ReadableStream) {
    throw new TypeError(
      'fetchEventStream: a ReadableStream body can be sent only once, so it cannot be resent on reconnection. Pass a string, Blob or ArrayBuffer body (or `json`), or set `retry: false`.',
    );
  }
  const fetchImpl = options.fetch ?? globalThis.fetch?.bind(globalThis);
  if (typeof fetchImpl !== 'function') {
    throw new TypeError('fetchEventStream: no global fetch here; pass `fetch` in the options.');
  }
  const href = String(url);
  const isTerminal = options.isTerminal ?? isDefaultTerminal;
  const closer = new AbortController();
  const queue = new EventQueue(options.highWaterMark ?? 256, options.onEvent === undefined, () =>
    closer.abort(CLOSED),
  );
  closer.signal.addEventListener('abort', () => queue.release(), { once: true });
  let readyState: ReadyState = 'connecting';
  let lastEventId = options.lastEventId ?? '';
  const userSignal = options.signal;
  const onUserAbort = () => closer.abort(userSignal?.reason);
  if (userSignal?.aborted) onUserAbort();
  else userSignal?.addEventListener('abort', onUserAbort, { once: true });

  const run = async (): Promise<ConnectionEnd> =>
    runConnection({
      url: href,
      init,
      fetch: fetchImpl,
      signal: closer.signal,
      lastEventId,
      maxEventSize: options.maxEventSize,
      idleTimeoutMs: options.idleTimeoutMs,
      commentsResetIdle: options.commentsResetIdle ?? false,
      resume: options.resume,
      isTerminal,
      pause: options.pauseWhenHidden ? visibilityPause() : undefined,
      async checkResponse(response, requestMethod, requestUrl) {
        if (response.status === 204) return 'no-content';
        if (!response.ok || !isEventStreamType(response.headers.get('content-type')))
          throw await responseError(response, requestMethod, requestUrl);
        return undefined;
      },
      planRetry(error, failures, context) {
        if (!retry.enabled || !retry.shouldRetry(error, failures)) return undefined;
        const delay = retryAfterMs(error) ?? backoffDelay(retry, failures, context.serverRetryMs);
        const elapsed = Date.now() + delay - context.streakStart;
        if (failures >= retry.maxAttempts || elapsed > retry.maxElapsedMs) {
          const limit =
            failures >= retry.maxAttempts
              ? `maxAttempts (${retry.maxAttempts})`
              : `maxElapsedMs (${retry.maxElapsedMs} ms)`;
          throw new StreamError(
            'retry-limit',
            `Gave up after ${failures} failed attempts (${limit} reached): ${method} ${href}. Last failure: ${describe(error)}`,
            { cause: error },
          );
        }
        return delay;
      },
      hooks: {
        onConnecting() {
          readyState = 'connecting';
        },
        onOpen(response) {
          readyState = 'open';
          options.onOpen?.(response);
        },
        onEvent(event) {
          options.onEvent?.(event);
          return queue.push(event);
        },
        onComment: (comment) => options.onComment?.(comment),
        onRetryField() {},
        onLastEventId(id) {
          lastEventId = id;
        },
        onReconnect(info) {
          readyState = 'connecting';
          options.onRetry?.(info);
        },
      },
    });

  const finished = run().then(
    (end) =>
      settle(end.reason === 'terminal' ? terminalOutcome(end.event) : { reason: 'no-content' }),
    (error: unknown) => settle(failureOutcome(error, closer.signal, userSignal, retry.enabled)),
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
    [Symbol.asyncIterator]: () => queue.iterate(),
  };
}

const CLOSED = Symbol('closed');

function terminalOutcome(event: ServerSentEvent): CloseInfo {
  if (event.type !== 'error') return { reason: 'done', event };
  let data: unknown = event.data;
  try {
    data = JSON.parse(event.data);
  } catch {
    // Not JSON: the raw text is the payload.
  }
  const message =
    typeof data === 'object' &&
    data !== null &&
    typeof (data as { message?: unknown }).message === 'string'
      ? (data as { message: string }).message
      : typeof data === 'string' && data !== ''
        ? data
        : 'The server reported an error';
  return { reason: 'error', event, error: new ServerError(message, data, event.id) };
}

function failureOutcome(
  error: unknown,
  signal: AbortSignal,
  userSignal: AbortSignal | undefined,
  retryEnabled: boolean,
): CloseInfo {
  if (signal.aborted && signal.reason === CLOSED) return { reason: 'closed' };
  if (userSignal?.aborted && error === userSignal.reason) return { reason: 'aborted', error };
  // Without reconnection, the end of the body is the end of the stream, as with a plain reader.
  if (error instanceof StreamEndedError && !retryEnabled) return { reason: 'done' };
  return { reason: 'error', error };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const OWN_OPTIONS = [
  'json',
  'signal',
  'fetch',
  'lastEventId',
  'retry',
  'idleTimeoutMs',
  'commentsResetIdle',
  'isTerminal',
  'maxEventSize',
  'resume',
  'pauseWhenHidden',
  'highWaterMark',
  'onOpen',
  'onEvent',
  'onComment',
  'onRetry',
  'onClose',
] as const;

function buildInit(options: FetchEventStreamOptions): { init: RequestInit; method: string } {
  const init = { ...options } as RequestInit & Record<string, unknown>;
  for (const key of OWN_OPTIONS) delete init[key];
  if (options.json !== undefined) {
    if (init.body !== undefined && init.body !== null) {
      throw new TypeError('fetchEventStream: pass either `json` or `body`, not both.');
    }
    init.body = JSON.stringify(options.json);
    const headers = new Headers(init.headers);
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    init.headers = headers;
    init.method ??= 'POST';
  }
  const method = (init.method ?? 'GET').toUpperCase();
  if ((method === 'GET' || method === 'HEAD') && init.body !== undefined && init.body !== null) {
    throw new TypeError(
      `fetchEventStream: a ${method} request cannot have a body; use method: 'POST'.`,
    );
  }
  return { init, method };
}
