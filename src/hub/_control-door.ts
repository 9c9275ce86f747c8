/**
 * The door of the hub's control endpoints (`handleCancel`, `handleTopics`): their CORS preflight,
 * and the 405 for a method they do not take, with CORS headers and `Allow`, in one place.
 * @internal
 */
import { RequestError } from '../errors.ts';
import { type CorsOptions, corsHeaders, corsPreflight, validateCors } from '../server/cors.ts';
import { jsonErrorResponse } from '../server/json-error-response.ts';

/** The preflight's answer, when `request` is one and `cors` is set; checks `cors` first. */
export function controlPreflight(
  request: Request,
  cors: CorsOptions | undefined,
): Response | undefined {
  if (cors) validateCors(cors);
  return request.method === 'OPTIONS' && cors ? corsPreflight(request, cors) : undefined;
}

/** A 405 for a method not in `methods`, naming the endpoint (`what`); `undefined` for one in it. */
export function methodNotAllowed(
  request: Request,
  cors: CorsOptions | undefined,
  methods: readonly string[],
  what: string,
): Response | undefined {
  if (methods.includes(request.method)) return undefined;
  const headers = new Headers(cors ? corsHeaders(request, cors) : undefined);
  headers.set('allow', (cors ? [...methods, 'OPTIONS'] : methods).join(', '));
  return jsonErrorResponse(
    new RequestError(
      'method-not-allowed',
      `${request.method} is not allowed on ${what}: use ${methods.join(' or ')}.`,
    ),
    { headers },
  );
}
