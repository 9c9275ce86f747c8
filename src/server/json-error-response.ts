import type { HeadersInput } from '../_internal/http.ts';
import { HubError, RequestError } from '../errors.ts';

/** Options of {@link jsonErrorResponse}. */
export interface JsonErrorResponseOptions {
  /** Extra headers, e.g. `allow` for a 405 or CORS headers. */
  headers?: HeadersInput | undefined;
}

/**
 * A JSON error response, not a stream: `{"error": {"code", "message"}}` with the status of a
 * {@link RequestError} (400, 405, 413, 415) or of a `HubError` (404 `run-expired`, 409
 * `run-finished`). Anything else is a 500 with
 * `{"error": {"code": "internal-error", "message": "Internal server error"}}`: an unexpected error's
 * message is never shown to the client.
 *
 * @example
 * ```ts
 * import { jsonErrorResponse, RequestError } from 'ssekit/server';
 *
 * const response = jsonErrorResponse(
 *   new RequestError('method-not-allowed', 'GET /api/chat: use POST.'),
 *   { headers: { allow: 'POST' } },
 * );
 * response.status; // 405
 * ```
 */
export function jsonErrorResponse(
  error: unknown,
  options: JsonErrorResponseOptions = {},
): Response {
  const known = RequestError.isInstance(error) || HubError.isInstance(error);
  const status = known ? error.status : 500;
  const body = known
    ? { error: { code: error.code, message: error.message } }
    : { error: { code: 'internal-error', message: 'Internal server error' } };
  const headers = new Headers(options.headers);
  headers.set('content-type', 'application/json; charset=utf-8');
  headers.set('cache-control', 'no-store');
  return new Response(JSON.stringify(body), { status, headers });
}
