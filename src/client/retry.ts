import { ParseError, ResponseError, ServerError, StreamError } from '../errors.ts';

/** How a client retries: exponential backoff with full jitter. */
export interface RetryOptions {
  /**
   * Base delay before the first reconnection. A `retry:` field from the server replaces it.
   * @default 1000
   */
  initialDelayMs?: number;
  /**
   * Upper bound of the backoff (not of a server's `Retry-After`, which is honoured as sent).
   * @default 30000
   */
  maxDelayMs?: number;
  /**
   * Reconnections in a row, the first request included, before giving up with a `retry-limit`
   * error: every reconnection counts, planned resumes included, and only an attempt that delivers
   * new events starts the count again.
   * @default 10
   */
  maxAttempts?: number;
  /**
   * Give up when the next reconnection would start later than this after the first failure of
   * the current streak.
   * @default Infinity
   */
  maxElapsedMs?: number;
  /**
   * Decides whether `error` is worth another attempt (`attempt` counts from 1). It can only
   * refuse: a stream that delivered events is resumed, never re-run, whatever it says. The
   * default is {@link isRetryable}.
   */
  shouldRetry?: (error: unknown, attempt: number) => boolean;
}

/**
 * The default `shouldRetry`: transient failures are worth another attempt, mistakes are not.
 *
 * - yes: a failure of the transport (whatever `fetch()` or the body read threw: the client
 *   classifies those by where they came from, not by their message, and a request `fetch` refuses
 *   never gets here), an idle timeout, a response cut or ended early, HTTP 408, 429 and 5xx, and a
 *   provider's error event whose type is transient (`overloaded_error`, `rate_limit_error`,
 *   `server_error`, `UNAVAILABLE`, ...);
 * - no: other 4xx, a wrong content type, an oversized event, any other error event.
 *
 * @example
 * ```ts
 * import { fetchEventStream, isRetryable } from 'ssekit/client';
 *
 * // Retry as usual, but never on a 503 from this flaky proxy.
 * fetchEventStream('/api/feed', {
 *   retry: { shouldRetry: (error) => isRetryable(error) && !String(error).includes('503') },
 * });
 * ```
 */
export function isRetryable(error: unknown): boolean {
  if (ResponseError.isInstance(error)) {
    if (error.code === 'invalid-content-type') return false;
    return error.status === 408 || error.status === 429 || error.status >= 500;
  }
  if (ServerError.isInstance(error)) return error.retryable;
  if (ParseError.isInstance(error)) return false;
  if (StreamError.isInstance(error))
    return (
      error.code === 'idle-timeout' || error.code === 'ended-early' || error.code === 'stream-cut'
    );
  return true; // the transport: network failures, cut bodies
}
