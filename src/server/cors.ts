/** Cross-origin settings of an event-stream endpoint. */
export interface CorsOptions {
  /**
   * The origins allowed to read the stream: `'*'` for any (without credentials), one origin
   * (`'https://app.example.com'`), a list, or a predicate. Origins compare exactly, as browsers
   * serialise them: scheme, host and port, lower case, no trailing slash.
   */
  origin: string | readonly string[] | ((origin: string) => boolean);
  /**
   * Allow cookies and HTTP authentication (`access-control-allow-credentials: true`). Browsers
   * refuse `'*'` with credentials, so that combination throws a `TypeError`.
   * @default false
   */
  credentials?: boolean;
  /**
   * Request headers a preflight allows. `Last-Event-ID` must be among them for a `fetch` client to
   * resume across origins, `ssekit-cancel` for its `stop()` to cancel a hub run, `idempotency-key`
   * for a POST to a hub to be sent again after a failure before any response.
   * @default ['content-type', 'authorization', 'last-event-id', 'ssekit-cancel', 'idempotency-key']
   */
  allowHeaders?: readonly string[];
  /**
   * Methods a preflight allows.
   * @default ['GET', 'POST']
   */
  methods?: readonly string[];
  /**
   * Response headers the client may read: `ssekit-run-id` names a hub run, so that the client's
   * `stop()` can cancel it.
   * @default ['last-event-id', 'ssekit-run-id']
   */
  exposeHeaders?: readonly string[];
  /**
   * How long a browser may cache a preflight answer (`access-control-max-age`, in whole seconds).
   * @default 600_000 (10 minutes)
   */
  maxAgeMs?: number;
}

const DEFAULT_ALLOW_HEADERS = [
  'content-type',
  'authorization',
  'last-event-id',
  'ssekit-cancel',
  'idempotency-key',
];
const DEFAULT_METHODS = ['GET', 'POST'];
const DEFAULT_EXPOSE_HEADERS = ['last-event-id', 'ssekit-run-id'];

/**
 * The CORS headers of an actual (not preflight) response to `request`: none when the request has
 * no `Origin` or the origin is not allowed, so the browser blocks the response. Adds
 * `vary: origin` whenever the answer depends on the origin, so caches keep answers apart.
 *
 * @example
 * ```ts
 * import { corsHeaders } from 'ssekit/server';
 *
 * const headers = corsHeaders(request, { origin: ['https://app.example.com'], credentials: true });
 * ```
 * @see https://fetch.spec.whatwg.org/#http-cors-protocol
 */
export function corsHeaders(request: Request, options: CorsOptions): Headers {
  validateCors(options);
  const headers = new Headers();
  const allowed = allowedOrigin(request.headers.get('origin'), options);
  if (options.origin !== '*') headers.set('vary', 'origin');
  if (allowed === undefined) return headers;
  headers.set('access-control-allow-origin', allowed);
  if (options.credentials) headers.set('access-control-allow-credentials', 'true');
  const expose = options.exposeHeaders ?? DEFAULT_EXPOSE_HEADERS;
  if (expose.length > 0) headers.set('access-control-expose-headers', expose.join(', '));
  return headers;
}

/**
 * Answers a CORS preflight (`OPTIONS` with `Access-Control-Request-Method`) with `204 No Content`
 * and the allowed methods and headers. A disallowed origin gets the 204 without CORS headers, and
 * the browser stops there.
 *
 * @example
 * ```ts
 * import { corsPreflight, createEventStream } from 'ssekit/server';
 *
 * const cors = { origin: 'https://app.example.com' };
 * export async function handle(request: Request): Promise<Response> {
 *   if (request.method === 'OPTIONS') return corsPreflight(request, cors);
 *   return createEventStream(request, async (stream) => stream.send({ data: 'hi' }), { cors });
 * }
 * ```
 * @see https://fetch.spec.whatwg.org/#cors-preflight-fetch
 */
export function corsPreflight(request: Request, options: CorsOptions): Response {
  const headers = corsHeaders(request, options);
  if (headers.has('access-control-allow-origin')) {
    headers.delete('access-control-expose-headers'); // meaningless on a preflight
    headers.set('access-control-allow-methods', (options.methods ?? DEFAULT_METHODS).join(', '));
    const allow = options.allowHeaders ?? DEFAULT_ALLOW_HEADERS;
    if (allow.length > 0) headers.set('access-control-allow-headers', allow.join(', '));
    headers.set('access-control-max-age', String(Math.floor((options.maxAgeMs ?? 600_000) / 1000)));
  }
  return new Response(null, { status: 204, headers });
}

/** Throws a `TypeError` for CORS options a browser would reject or that cannot work. */
export function validateCors(options: CorsOptions): void {
  const { origin, credentials, maxAgeMs } = options;
  const valid =
    typeof origin === 'string' ||
    typeof origin === 'function' ||
    (Array.isArray(origin) && origin.every((item) => typeof item === 'string'));
  if (!valid) {
    throw new TypeError(
      `cors.origin must be '*', an origin string, an array of origins or a predicate, got ${String(origin)}.`,
    );
  }
  if (origin === '*' && credentials) {
    throw new TypeError(
      "cors.origin '*' cannot be combined with cors.credentials true: browsers reject a wildcard with credentials. List the allowed origins instead.",
    );
  }
  if (maxAgeMs !== undefined && !(Number.isFinite(maxAgeMs) && maxAgeMs >= 0)) {
    throw new TypeError(`cors.maxAgeMs must be a non-negative number, got ${maxAgeMs}.`);
  }
}

function allowedOrigin(origin: string | null, options: CorsOptions): string | undefined {
  const rule = options.origin;
  if (rule === '*') return '*'; // never with credentials: validateCors refuses that
  if (origin === null) return undefined;
  if (typeof rule === 'function') return rule(origin) ? origin : undefined;
  if (typeof rule === 'string') return rule === origin ? origin : undefined;
  return rule.includes(origin) ? origin : undefined;
}
