/**
 * The retry options resolved once, the backoff, and `Retry-After`.
 * @internal
 */
import { ResponseError } from '../errors.ts';
import { isRetryable, type RetryOptions } from './retry.ts';

/** Retry options with every default resolved. */
export interface ResolvedRetry {
  enabled: boolean;
  initialDelayMs: number;
  maxDelayMs: number;
  maxAttempts: number;
  maxElapsedMs: number;
  shouldRetry: (error: unknown, attempt: number) => boolean;
}

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

/**
 * The delay before attempt `attempt` + 1: full jitter over an exponential window, starting at the
 * server's `retry:` value when it sent one.
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

/** Reads `Retry-After` (seconds or an HTTP date) of a 429 or 503 response, in milliseconds. */
export function retryAfterMs(error: unknown, now: number = Date.now()): number | undefined {
  if (!ResponseError.isInstance(error) || (error.status !== 429 && error.status !== 503))
    return undefined;
  const value = error.headers.get('retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
