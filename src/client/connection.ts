import { sleep, startTimer } from '../_internal/timers.ts';
import { type ParseError, StreamError } from '../errors.ts';
import { createParser } from '../protocol/parser.ts';
import type { ServerSentEvent } from '../protocol/types.ts';
import type { FetchLike, ResumeBuilder } from './types.ts';

/**
 * The connection core shared by `fetchEventStream` and `EventSource`: one attempt after another,
 * each resuming from the last event ID, until a terminal event, a fatal error or cancellation.
 * The surfaces differ only in the policies they pass in.
 * @internal
 */
export interface ConnectionConfig {
  url: string;
  /** The first request's init, without `signal`. */
  init: RequestInit;
  fetch: FetchLike;
  /** Aborting it ends everything; the connection then rejects with its reason. */
  signal: AbortSignal;
  lastEventId: string;
  maxEventSize: number | undefined;
  idleTimeoutMs: number | undefined;
  commentsResetIdle: boolean;
  resume: ResumeBuilder | undefined;
  isTerminal: (event: ServerSentEvent) => boolean;
  /** Throws for a response that is not an event stream; returns 'no-content' to stop quietly. */
  checkResponse: (
    response: Response,
    method: string,
    url: string,
  ) => Promise<'no-content' | undefined>;
  /** The delay before the next attempt, or undefined to give up and throw `error`. */
  planRetry: (error: unknown, failures: number, context: RetryContext) => number | undefined;
  /** Optional pause (page visibility): attempts wait while it says paused. */
  pause: PauseSource | undefined;
  hooks: ConnectionHooks;
}

/** @internal */
export interface RetryContext {
  serverRetryMs: number | undefined;
  /** When the current streak of failures began (ms since epoch). */
  streakStart: number;
}

/** @internal */
export interface PauseSource {
  isPaused(): boolean;
  /** Calls `listener` on every change; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void;
}

/** @internal */
export interface ConnectionHooks {
  onConnecting(attempt: number): void;
  onOpen(response: Response): void;
  /** May return a promise: the connection stops reading until it settles (backpressure). */
  onEvent(event: ServerSentEvent): void | Promise<void>;
  onComment(comment: string): void;
  onRetryField(retryMs: number): void;
  onLastEventId(lastEventId: string): void;
  onReconnect(info: { attempt: number; delayMs: number; error: unknown }): void;
}

/** How a connection ended without error. @internal */
export type ConnectionEnd =
  | { reason: 'terminal'; event: ServerSentEvent }
  | { reason: 'no-content' };

/** A stream that ended before a terminal event: resumed when retries allow. @internal */
export class StreamEndedError extends Error {
  constructor(method: string, url: string) {
    super(`The event stream ended without a terminal event: ${method} ${url}`);
    this.name = 'StreamEndedError';
  }
}

const PAUSED = Symbol('paused');

/** Runs the connection until it ends; rejects with a fatal error or the signal's reason. @internal */
export async function runConnection(config: ConnectionConfig): Promise<ConnectionEnd> {
  const state: AttemptState = {
    closed: config.signal.aborted,
    lastEventId: config.lastEventId,
    serverRetryMs: undefined,
    delivered: false,
  };
  config.signal.addEventListener(
    'abort',
    () => {
      state.closed = true;
    },
    { once: true },
  );
  let failures = 0;
  let streakStart = 0;
  for (let attempt = 1; ; attempt++) {
    if (config.pause?.isPaused()) await waitForResume(config.pause, config.signal);
    config.signal.throwIfAborted();
    config.hooks.onConnecting(attempt);
    state.delivered = false;
    try {
      return await runAttempt(config, state, attempt);
    } catch (error) {
      if (config.signal.aborted) throw config.signal.reason;
      if (error === PAUSED) continue;
      if (state.delivered) failures = 0;
      if (failures === 0) streakStart = Date.now();
      failures++;
      const delayMs = config.planRetry(error, failures, {
        serverRetryMs: state.serverRetryMs,
        streakStart,
      });
      if (delayMs === undefined) throw error;
      config.hooks.onReconnect({ attempt: failures, delayMs, error });
      await sleep(delayMs, config.signal);
    }
  }
}

interface AttemptState {
  /** config.signal.aborted, as a plain field: the per-event check stays cheap. */
  closed: boolean;
  lastEventId: string;
  serverRetryMs: number | undefined;
  delivered: boolean;
}

async function runAttempt(
  config: ConnectionConfig,
  state: AttemptState,
  attempt: number,
): Promise<ConnectionEnd> {
  const controller = new AbortController();
  const abortAttempt = (reason: unknown) => controller.abort(reason);
  const onAbort = () => abortAttempt(config.signal.reason);
  config.signal.addEventListener('abort', onAbort, { once: true });
  // Pausing (a hidden page) drops the connection only when it can be resumed, never re-run.
  const unsubscribe = config.pause?.subscribe(() => {
    if (config.pause?.isPaused() && state.lastEventId !== '') abortAttempt(PAUSED);
  });
  const idle = config.idleTimeoutMs
    ? startTimer(config.idleTimeoutMs, () => abortAttempt(idleError(config)))
    : undefined;
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  try {
    const { url, init } = buildRequest(config, state.lastEventId, attempt);
    const method = (init.method ?? 'GET').toUpperCase();
    const response = await config.fetch(url, { ...init, signal: controller.signal });
    if ((await config.checkResponse(response, method, url)) === 'no-content')
      return { reason: 'no-content' };
    config.hooks.onOpen(response);
    idle?.restart();
    if (!response.body) throw new StreamEndedError(method, url);
    reader = response.body.getReader();
    return await readEvents(config, state, reader, idle, { method, url });
  } catch (error) {
    throw controller.signal.aborted && !config.signal.aborted ? controller.signal.reason : error;
  } finally {
    idle?.stop();
    unsubscribe?.();
    config.signal.removeEventListener('abort', onAbort);
    // Frees the socket at once, whatever ended the attempt (a terminal event, an error, a break).
    if (!controller.signal.aborted) controller.abort();
    reader?.cancel().catch(ignoreCancelError);
  }
}

async function readEvents(
  config: ConnectionConfig,
  state: AttemptState,
  reader: ReadableStreamDefaultReader<Uint8Array>,
  idle: ReturnType<typeof startTimer> | undefined,
  where: { method: string; url: string },
): Promise<ConnectionEnd> {
  const { hooks } = config;
  const events: ServerSentEvent[] = [];
  let parseError: ParseError | undefined;
  const parser = createParser({
    lastEventId: state.lastEventId,
    maxEventSize: config.maxEventSize,
    onEvent: (event) => events.push(event),
    onComment: (comment) => {
      if (config.commentsResetIdle) idle?.restart();
      hooks.onComment(comment);
    },
    onRetry: (retryMs) => {
      state.serverRetryMs = retryMs;
      hooks.onRetryField(retryMs);
    },
    onError: (error) => {
      parseError ??= error;
    },
  });
  for (;;) {
    const { done, value } = await reader.read();
    if (done) throw new StreamEndedError(where.method, where.url);
    parser.feed(value);
    if (parseError) throw parseError;
    for (let index = 0; index < events.length; index++) {
      const event = events[index]!;
      state.lastEventId = event.id;
      hooks.onLastEventId(event.id);
      if (config.isTerminal(event)) return { reason: 'terminal', event };
      state.delivered = true;
      idle?.restart();
      const pending = hooks.onEvent(event);
      if (pending) await pending;
      if (state.closed) throw config.signal.reason; // closed from inside a listener
    }
    events.length = 0;
    if (parser.lastEventId !== state.lastEventId) {
      state.lastEventId = parser.lastEventId; // an id-only block
      hooks.onLastEventId(state.lastEventId);
    }
  }
}

function buildRequest(
  config: ConnectionConfig,
  lastEventId: string,
  attempt: number,
): { url: string; init: RequestInit } {
  let url = config.url;
  let init = config.init;
  if (attempt > 1 && config.resume) {
    const resumed = config.resume({ url, init, lastEventId, attempt });
    if (resumed.url !== undefined) url = String(resumed.url);
    if (resumed.init !== undefined) init = resumed.init;
  }
  const headers = new Headers(init.headers);
  if (lastEventId !== '' && !headers.has('last-event-id'))
    headers.set('last-event-id', lastEventId);
  if (!headers.has('accept')) headers.set('accept', 'text/event-stream');
  return { url, init: { ...init, headers } };
}

function idleError(config: ConnectionConfig): StreamError {
  const method = (config.init.method ?? 'GET').toUpperCase();
  return new StreamError(
    'idle-timeout',
    `No event arrived within idleTimeoutMs (${config.idleTimeoutMs} ms): ${method} ${config.url}`,
  );
}

function waitForResume(pause: PauseSource, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = () => {
      unsubscribe();
      signal.removeEventListener('abort', onAbort);
    };
    const onAbort = () => {
      done();
      reject(signal.reason);
    };
    const unsubscribe = pause.subscribe(() => {
      if (!pause.isPaused()) {
        done();
        resolve();
      }
    });
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
}

// Cancelling a body that already errored or was aborted rejects; the attempt is over either way,
// and the error that ended it has already been reported.
function ignoreCancelError(): void {}
