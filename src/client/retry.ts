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
   * Consecutive failed attempts before giving up with a `retry-limit` error. An attempt that
   * delivered at least one event resets the count.
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
   * Decides whether `error` is worth another attempt (`attempt` counts from 1). The default
   * retries network errors, streams that ended without a terminal event, idle timeouts, and HTTP
   * 408, 429 and 5xx; never other 4xx, a wrong content type, an oversized event or a server
   * `error` event.
   */
  shouldRetry?: (error: unknown, attempt: number) => boolean;
}

/** @internal Retry options with every default resolved. */
export interface ResolvedRetry {
  enabled: boolean;
  initialDelayMs: number;
  maxDelayMs: number;
  maxAttempts: number;
  maxElapsedMs: number;
  shouldRetry: (error: unknown, attempt: number) => boolean;
}

/** @internal */
export function resolveRetry(retry: RetryOptions | boolean | undefined): ResolvedRetry {
  const options = typeof retry === 'object' ? retry : {};
  const resolved: ResolvedRetry = {
    enabled: retry !== false,
    initialDelayMs: options.initialDelayMs ?? 1000,
    maxDelayMs: options.maxDelayMs ?? 30_000,
    maxAttempts: options.maxAttempts ?? 10,
    maxElapsedMs: options.maxElapsedMs ?? Number.POSITIVE_INFINITY,
    shouldRetry: options.shouldRetry ?? isRetryable,
  };
  for (const key of ['initialDelayMs', 'maxDelayMs', 'maxElapsedMs'] as const) {
    if (!(resolved[key] >= 0)) {
      throw new TypeError(
        `retry.${key} must be a non-negative number of milliseconds, got ${resolved[key]}.`,
      );
    }
  }
  if (!(resolved.maxAttempts >= 1)) {
    throw new TypeError(`retry.maxAttempts must be at least 1, got ${resolved.maxAttempts}.`);
  }
  if (resolved.initialDelayMs > resolved.maxDelayMs) {
    throw new TypeError(
      `retry.initialDelayMs (${resolved.initialDelayMs}) must not exceed retry.maxDelayMs (${resolved.maxDelayMs}).`,
    );
  }
  return resolved;
}

/** The default `shouldRetry`. */
export function isRetryable(error: unknown): boolean {
  if (ResponseError.isInstance(error)) {
    if (error.code === 'invalid-content-type') return false;
    return error.status === 408 || error.status === 429 || error.status >= 500;
  }
  if (ServerError.isInstance(error) || ParseError.isInstance(error)) return false;
  if (StreamError.isInstance(error)) return error.code === 'idle-timeout';
  if (error instanceof TypeError && !isNetworkTypeError(error)) return false;
  return true; // network failures, streams cut short
}

// fetch reports network failures as TypeError ("fetch failed", "Failed to fetch", "NetworkError
// when attempting to fetch resource", "Load failed"); other TypeErrors are programming mistakes.
function isNetworkTypeError(error: TypeError): boolean {
  return (
    /fetch|network|load failed|terminated|socket/i.test(error.message) || error.cause !== undefined
  );
}

/**
 * The delay before attempt `attempt` + 1: full jitter over an exponential window, starting at the
 * server's `retry:` value when it sent one.
 * @internal
 */
export function backoffDelay(
  retry: ResolvedRetry,
  attempt: number,
  serverRetryMs: number | undefined,
): number {
  const base = serverRetryMs ?? retry.initialDelayMs;
  const window = Math.min(retry.maxDelayMs, base * 2 ** Math.min(attempt - 1, 30));
  // Full jitter: clients cut at the same moment (a deploy, a deadline) spread over the window.
  return Math.round(Math.random() * window);
}

/**
 * Reads `Retry-After` (seconds or an HTTP date) of a 429 or 503 response, in milliseconds.
 * @internal
 */
export function retryAfterMs(error: unknown, now: number = Date.now()): number | undefined {
  if (!ResponseError.isInstance(error) || (error.status !== 429 && error.status !== 503))
    return undefined;
  const value = error.headers.get('retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
