import type { HeadersInput } from '../_internal/http.ts';
import { type CorsOptions, corsHeaders } from './cors.ts';

/** Options of {@link createEventStreamHeaders}. */
export interface EventStreamHeadersOptions {
  /** Extra headers. The protocol headers below win over them. */
  headers?: HeadersInput | undefined;
  /** Adds CORS headers for `request` (both are needed). */
  cors?: CorsOptions | undefined;
  request?: Request | undefined;
}

/**
 * The response headers of an event stream:
 *
 * - `content-type: text/event-stream; charset=utf-8`
 * - `cache-control: no-cache, no-transform`: no cache may store it, no proxy may compress or
 *   rewrite it (a compressing proxy buffers until its window fills, which delays every event)
 * - `x-accel-buffering: no`: nginx (and proxies that copy it) pass each chunk on at once
 *
 * Never `content-length` or `transfer-encoding` (the length is unknown; framing is the HTTP
 * layer's business), and never `connection`: a Web `Response` cannot know whether it travels over
 * HTTP/1.1, where `connection: keep-alive` is allowed, or HTTP/2 and 3, where it is forbidden. The
 * Node adapter adds it on HTTP/1.1. Documented in docs/protocol.md (response headers).
 *
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html#authoring-notes
 * @internal
 */
export function createEventStreamHeaders(options: EventStreamHeadersOptions = {}): Headers {
  const headers = new Headers(options.headers);
  if (options.cors && options.request) {
    for (const [name, value] of corsHeaders(options.request, options.cors)) {
      headers.set(name, value);
    }
  }
  headers.set('content-type', 'text/event-stream; charset=utf-8');
  headers.set('cache-control', 'no-cache, no-transform');
  headers.set('x-accel-buffering', 'no');
  for (const name of ['content-length', 'transfer-encoding', 'connection', 'content-encoding']) {
    headers.delete(name);
  }
  return headers;
}
