/**
 * Resume, never re-run: what `fetchEventStream` (and through it the React hook and the CLI) does
 * after each attempt.
 *
 * | how the attempt ended | no event delivered yet | events delivered |
 * | --- | --- | --- |
 * | a terminal event | complete (or its error) | complete (or its error, never retried) |
 * | a clean end | complete | complete |
 * | a clean end after a `retry:` (the server asks to come back) | resume if it can, else complete | resume if it can, else complete |
 * | a cut (read error, idle, a body ending inside an event) | retry | resume if it can, else `stream-cut` |
 * | no connection, 408/429/5xx, a transient provider error | retry with backoff, `Retry-After` | resume if it can (only a resume can get here) |
 * | a request fetch refuses, other 4xx, wrong type, oversized event | fail | fail |
 *
 * "It can" means an event ID to send as `Last-Event-ID`, or a GET. Every reconnection counts
 * toward `maxAttempts` and `maxElapsedMs`; only an attempt that delivered new events resets them.
 * @internal
 */
import { ResponseError, StreamError } from '../errors.ts';
import { BODY, type Connection, type Decide, ENDED, FATAL, TERMINAL } from './_connection.ts';
import { isRetryable, type RetryOptions } from './retry.ts';

/** What is said before each reconnection (`onRetry`). */
export type RetryListener = (info: { attempt: number; delayMs: number; error: unknown }) => void;

/**
 * The decision of a stream with these retry options (validated here, once): the delay before the
 * next attempt, `undefined` for completion, or a throw to fail.
 */
export function createResumeRule(
  retry: RetryOptions | boolean | undefined,
  state: Pick<Connection, 'delivered' | 'serverRetryMs'>,
  onRetry: RetryListener | undefined,
): Decide {
  const {
    initialDelayMs = 1000,
    maxDelayMs = 30_000,
    maxAttempts = 10,
    maxElapsedMs = Number.POSITIVE_INFINITY,
    shouldRetry = isRetryable,
  } = typeof retry === 'object' ? retry : {};
  if (
    !(initialDelayMs >= 0 && maxDelayMs >= initialDelayMs && maxElapsedMs >= 0 && maxAttempts >= 1)
  )
    throw new TypeError(
      `fetchEventStream: retry needs 0 <= initialDelayMs (${initialDelayMs}) <= maxDelayMs (${maxDelayMs}), maxElapsedMs >= 0 (${maxElapsedMs}) and maxAttempts >= 1 (${maxAttempts}).`,
    );
  const enabled = retry !== false;
  let failures = 0;
  let streakStart = 0;
  return (phase, error, fresh, resumeAsked, canResume, method, url) => {
    if (fresh) failures = 0;
    if (failures++ === 0) streakStart = Date.now();
    const where = `${method} ${url}`;
    const serverMs = state.serverRetryMs;
    // Full jitter over an exponential window that starts at the server's `retry:` when it sent one:
    // clients cut at the same moment (a deploy, a deadline) spread over the window.
    const backoff = () =>
      Math.round(
        Math.random() *
          Math.min(maxDelayMs, (serverMs ?? initialDelayMs) * 2 ** Math.min(failures - 1, 30)),
      );
    let reason = error;
    let delayMs: number;
    if (phase === ENDED) {
      if (!enabled || !resumeAsked || !canResume()) return undefined;
      reason = new StreamError(
        'ended-early',
        `The server ended the response and asked to be resumed (retry: ${serverMs} ms): ${where}`,
      );
      // A planned end: the server's own delay (it adds its own jitter), then backoff if it keeps
      // ending without anything new.
      delayMs = failures === 1 ? (serverMs ?? initialDelayMs) : backoff();
    } else {
      // An error event after events: the answer is over, sending the request again re-runs it.
      if (phase === FATAL || (state.delivered > 0 && phase === TERMINAL)) throw reason;
      if (state.delivered > 0 && phase === BODY && !(enabled && canResume())) {
        const count = state.delivered === 1 ? '1 event' : `${state.delivered} events`;
        throw new StreamError(
          'stream-cut',
          `The event stream was cut after ${count} and cannot be resumed: ${
            enabled
              ? `no event id was received to send as Last-Event-ID, and a ${method} is never sent twice (that would run it again)`
              : 'reconnection is off (retry: false)'
          }: ${where}. Cut by: ${describe(reason)}`,
          { cause: reason },
        );
      }
      if (!enabled || !shouldRetry(reason, failures)) throw reason;
      delayMs = retryAfterMs(reason) ?? backoff();
    }
    if (failures < maxAttempts && Date.now() + delayMs - streakStart <= maxElapsedMs) {
      onRetry?.({ attempt: failures, delayMs, error: reason });
      return delayMs;
    }
    const limit =
      failures < maxAttempts ? `maxElapsedMs (${maxElapsedMs} ms)` : `maxAttempts (${maxAttempts})`;
    throw new StreamError(
      'retry-limit',
      `Gave up after ${failures} failed attempts (${limit} reached): ${where}. Last failure: ${describe(reason)}`,
      { cause: reason },
    );
  };
}

/** `Retry-After` (seconds or an HTTP date) of a 429 or 503 response, in milliseconds. */
function retryAfterMs(error: unknown): number | undefined {
  if (!ResponseError.isInstance(error) || (error.status !== 429 && error.status !== 503)) return;
  const value = error.headers.get('retry-after')?.trim();
  if (!value) return;
  const ms = /^\d+$/.test(value) ? Number(value) * 1000 : Date.parse(value) - Date.now();
  return Number.isNaN(ms) ? undefined : Math.max(0, ms);
}

/** An error's message, with its cause's: fetch hides the reason of a network error there. */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? error.cause.message : '';
  return cause && !error.message.includes(cause) ? `${error.message} (${cause})` : error.message;
}
