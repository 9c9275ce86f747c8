/**
 * The connection core shared by every client surface (`fetchEventStream`, `EventSource`, and
 * through the former the React hook and the CLI): one attempt after another, each resuming from
 * the last event ID, until the policy says the stream is complete or has failed.
 *
 * A surface passes one {@link ConnectionPolicy} (what to accept, what ends the stream, what to do
 * after each attempt) and one `emit` callback that receives a union on `type`; it maps those
 * messages to its own API. The core reports facts: how an attempt ended, classified by where the
 * failure came from (building the request, `fetch()`, the response, reading the body), never by
 * an error's message text, so the rule holds on every runtime.
 * @internal
 */
import { sleep } from '../_internal/timers.ts';
import type { ServerSentEvent } from '../protocol/types.ts';
import { type AttemptResult, runAttempt } from './_attempt.ts';
import { createIdleLearner, type IdleLearner, type IdleSetting } from './_idle.ts';
import type { PauseSource } from './_visibility.ts';
import type { FetchLike, ResumeBuilder } from './types.ts';

/** What to send, and from where to start. */
export interface ConnectionRequest {
  url: string;
  /** The first request's init, without `signal`. */
  init: RequestInit;
  fetch: FetchLike;
  lastEventId: string;
  /** Builds a different request to resume. */
  resume: ResumeBuilder | undefined;
}

/** How an event ends the stream, as a surface's terminal rule says. */
export type ConnectionTerminal =
  | { kind: 'end'; deliver: boolean }
  | { kind: 'error'; deliver: boolean; error: unknown };

/** Where an attempt's failure came from. */
export type FailurePhase =
  /** Building the request (a header or method fetch refuses): a programming mistake. */
  | 'request'
  /** `fetch()` rejected: the network, before any response. */
  | 'connect'
  /** `accept` refused the response (its status or content type). */
  | 'response'
  /** Reading the body failed, went idle, or the body ended in the middle of an event. */
  | 'body'
  /** An event the parser refuses (over `maxEventSize`). */
  | 'parse'
  /** The server's error event (the terminal rule's `error`). */
  | 'terminal'
  /** The consumer's callback threw. */
  | 'consumer';

/** How an attempt ended, when it did not complete the stream. */
export type AttemptEnd =
  /**
   * The body ended at an event boundary. `resumeAsked`: a `retry:` field came after the last
   * event (the server's way, and ssekit's deadline's, to say "come back").
   */
  { type: 'ended'; resumeAsked: boolean } | { type: 'failed'; phase: FailurePhase; error: unknown };

/** What the policy knows when it decides. */
export interface AttemptFacts {
  /** The method and URL of the attempt that ended. */
  method: string;
  url: string;
  /** Reconnections in a row without new events, the one being decided included. */
  failures: number;
  /** When that streak began (ms since epoch). */
  streakStart: number;
  /** Events delivered since the stream started, and in this attempt. */
  delivered: number;
  deliveredNow: number;
  lastEventId: string;
  /** The server's last `retry:` value. */
  serverRetryMs: number | undefined;
  /** True when the next request resumes rather than re-runs: an event ID to send, or a GET. */
  canResume(): boolean;
}

/** What to do after an attempt. */
export type Decision =
  | { action: 'complete' }
  | { action: 'fail'; error: unknown }
  /** `reason` is what `reconnect` reports (the failure, or the planned end). */
  | { action: 'retry'; delayMs: number; reason: unknown };

/** Everything a surface decides. */
export interface ConnectionPolicy {
  maxEventSize: number | undefined;
  idleTimeoutMs: IdleSetting;
  /** Whether comments count as activity for a fixed `idleTimeoutMs`. */
  commentsResetIdle: boolean;
  /** Attempts wait while it says paused (a hidden page). */
  pause: PauseSource | undefined;
  /** Throws for a response that is not an event stream; false stops quietly (HTTP 204). */
  accept(response: Response, method: string, url: string): Promise<boolean>;
  /** Which events end the stream. */
  terminal(event: ServerSentEvent): ConnectionTerminal | undefined;
  decide(end: AttemptEnd, facts: AttemptFacts): Decision;
}

/** What the core tells the surface, in stream order. */
export type ConnectionMessage =
  | { type: 'connecting'; attempt: number }
  | { type: 'open'; response: Response }
  /** A delivered event; its `id` is the stream's last event ID. */
  | { type: 'event'; event: ServerSentEvent }
  /** The last event ID changed without an event (an id-only block). */
  | { type: 'id'; lastEventId: string }
  /** The event that ends the stream (after its `event` message when it is delivered). */
  | { type: 'terminal'; event: ServerSentEvent }
  | { type: 'comment'; comment: string }
  | { type: 'retry'; retryMs: number }
  | { type: 'reconnect'; attempt: number; delayMs: number; error: unknown };

/** Receives the messages; a returned promise pauses reading until it settles (backpressure). */
export type ConnectionEmit = (message: ConnectionMessage) => void | Promise<void>;

/** How the stream ended without error: complete (with its terminal event, if any), or HTTP 204. */
export type ConnectionEnd =
  | { reason: 'complete'; event: ServerSentEvent | undefined }
  | { reason: 'no-content' };

/** The state one connection carries across attempts. */
export interface ConnectionState {
  /** `signal.aborted`, as a plain field: the per-event check stays cheap. */
  closed: boolean;
  lastEventId: string;
  serverRetryMs: number | undefined;
  delivered: number;
  deliveredNow: number;
  idle: IdleLearner | undefined;
}

/** Runs the connection until it ends; rejects with a fatal error or the signal's reason. */
export async function runConnection(
  connection: { request: ConnectionRequest; policy: ConnectionPolicy; signal: AbortSignal },
  emit: ConnectionEmit,
): Promise<ConnectionEnd> {
  const { request, policy, signal } = connection;
  const state: ConnectionState = {
    closed: signal.aborted,
    lastEventId: request.lastEventId,
    serverRetryMs: undefined,
    delivered: 0,
    deliveredNow: 0,
    idle: policy.idleTimeoutMs === 'auto' ? createIdleLearner() : undefined,
  };
  const onAbort = () => {
    state.closed = true;
  };
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    let failures = 0;
    let streakStart = 0;
    for (let attempt = 1; ; attempt++) {
      if (policy.pause?.isPaused()) await waitForResume(policy.pause, signal);
      signal.throwIfAborted();
      await emit({ type: 'connecting', attempt });
      const idBefore = state.lastEventId;
      state.deliveredNow = 0;
      const result: AttemptResult = await runAttempt(
        { request, policy, signal, state, attempt },
        emit,
      );
      if (signal.aborted || result.type === 'closed') throw signal.reason;
      if (result.type === 'complete') return { reason: 'complete', event: result.event };
      if (result.type === 'no-content') return { reason: 'no-content' };
      if (result.type === 'paused') continue;
      // Only new events reset the count: a server that replays the same events (or none) on
      // every reconnection reaches the limit.
      if (state.deliveredNow > 0 && (state.lastEventId !== idBefore || state.lastEventId === ''))
        failures = 0;
      if (failures === 0) streakStart = Date.now();
      failures++;
      const decision = policy.decide(result, {
        method: result.method,
        url: result.url,
        failures,
        streakStart,
        delivered: state.delivered,
        deliveredNow: state.deliveredNow,
        lastEventId: state.lastEventId,
        serverRetryMs: state.serverRetryMs,
        canResume: () => canResume(request, state.lastEventId, attempt + 1),
      });
      if (decision.action === 'complete') return { reason: 'complete', event: undefined };
      if (decision.action === 'fail') throw decision.error;
      await emit({
        type: 'reconnect',
        attempt: failures,
        delayMs: decision.delayMs,
        error: decision.reason,
      });
      await sleep(decision.delayMs, signal);
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** Resuming, not re-running: an event ID to send as `Last-Event-ID`, or a GET (safe to repeat). */
function canResume(request: ConnectionRequest, lastEventId: string, attempt: number): boolean {
  if (lastEventId !== '') return true;
  let init = request.init;
  if (request.resume) {
    try {
      init = request.resume({ url: request.url, init, lastEventId, attempt }).init ?? init;
    } catch {
      return false; // it throws again when the attempt builds its request, and fails there
    }
  }
  return (init.method ?? 'GET').toUpperCase() === 'GET';
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
