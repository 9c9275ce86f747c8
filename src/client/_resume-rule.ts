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
import { StreamError } from '../errors.ts';
import type { AttemptEnd, AttemptFacts, Decision } from './_connection.ts';
import { backoffDelay, type ResolvedRetry, retryAfterMs } from './_retry.ts';

const COMPLETE: Decision = { action: 'complete' };

export function resumeRule(
  retry: ResolvedRetry,
): (end: AttemptEnd, facts: AttemptFacts) => Decision {
  return (end, facts) => {
    if (end.type === 'ended') {
      if (!retry.enabled || !end.resumeAsked || !facts.canResume()) return COMPLETE;
      const reason = new StreamError(
        'ended-early',
        `The server ended the response and asked to be resumed (retry: ${facts.serverRetryMs} ms): ${facts.method} ${facts.url}`,
      );
      // A planned end: the server's own delay (it adds its own jitter), then backoff if it keeps
      // ending without anything new.
      const delayMs =
        facts.failures === 1
          ? (facts.serverRetryMs ?? retry.initialDelayMs)
          : backoffDelay(retry, facts.failures, facts.serverRetryMs);
      return withinLimits(retry, reason, delayMs, facts);
    }
    const { phase, error } = end;
    if (phase === 'request' || phase === 'parse' || phase === 'consumer') return fail(error);
    if (facts.delivered > 0) {
      // An error event after events: the answer is over, sending the request again re-runs it.
      if (phase === 'terminal') return fail(error);
      if (phase === 'body' && (!retry.enabled || !facts.canResume()))
        return fail(cutError(error, facts, retry.enabled));
    }
    if (!retry.enabled || !retry.shouldRetry(error, facts.failures)) return fail(error);
    const delayMs = retryAfterMs(error) ?? backoffDelay(retry, facts.failures, facts.serverRetryMs);
    return withinLimits(retry, error, delayMs, facts);
  };
}

function withinLimits(
  retry: ResolvedRetry,
  reason: unknown,
  delayMs: number,
  facts: AttemptFacts,
): Decision {
  const elapsed = Date.now() + delayMs - facts.streakStart;
  if (facts.failures < retry.maxAttempts && elapsed <= retry.maxElapsedMs)
    return { action: 'retry', delayMs, reason };
  const limit =
    facts.failures >= retry.maxAttempts
      ? `maxAttempts (${retry.maxAttempts})`
      : `maxElapsedMs (${retry.maxElapsedMs} ms)`;
  return fail(
    new StreamError(
      'retry-limit',
      `Gave up after ${facts.failures} failed attempts (${limit} reached): ${facts.method} ${facts.url}. Last failure: ${describe(reason)}`,
      { cause: reason },
    ),
  );
}

function cutError(cause: unknown, facts: AttemptFacts, retryEnabled: boolean): StreamError {
  const why = retryEnabled
    ? `no event id was received to send as Last-Event-ID, and a ${facts.method} is never sent twice (that would run it again)`
    : 'reconnection is off (retry: false)';
  const events = facts.delivered === 1 ? '1 event' : `${facts.delivered} events`;
  return new StreamError(
    'stream-cut',
    `The event stream was cut after ${events} and cannot be resumed: ${why}: ${facts.method} ${facts.url}. Cut by: ${describe(cause)}`,
    { cause },
  );
}

function fail(error: unknown): Decision {
  return { action: 'fail', error };
}

/** An error's message, with its cause's: fetch hides the reason of a network error there. */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? error.cause.message : undefined;
  return cause && !error.message.includes(cause) ? `${error.message} (${cause})` : error.message;
}
