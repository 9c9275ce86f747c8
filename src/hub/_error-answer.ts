import { type CorsOptions, corsHeaders } from '../server/cors.ts';
import { jsonErrorResponse } from '../server/json-error-response.ts';

/**
 * Every refusal of the hub (a malformed id: 400; an unknown run: 404; a finished one: 409), as
 * `jsonErrorResponse` makes it from a `RequestError` or `HubError`, with the CORS headers the
 * stream would have had, so that a cross-origin client can read why.
 */
export function errorAnswer(
  request: Request,
  error: unknown,
  cors: CorsOptions | undefined,
): Response {
  return jsonErrorResponse(error, cors ? { headers: corsHeaders(request, cors) } : {});
}
