/**
 * The `RequestInit` inside `fetchEventStream`'s options: everything but the client's own options,
 * with `json` turned into a body.
 * @internal
 */
import type { FetchEventStreamOptions } from './fetch-event-stream.ts';

/** The options that are the client's own, not fetch's. */
export type OwnOptionKey = Exclude<keyof FetchEventStreamOptions, keyof RequestInit> | 'signal';

/**
 * Every own option, once: `satisfies` fails the build when an option is added to
 * `FetchEventStreamOptions` and not here (it would reach `fetch`), or listed here and not there.
 */
const OWN_OPTIONS = {
  json: true,
  signal: true,
  fetch: true,
  lastEventId: true,
  retry: true,
  idleTimeoutMs: true,
  commentsResetIdle: true,
  isTerminal: true,
  maxEventSize: true,
  resume: true,
  pauseWhenHidden: true,
  highWaterMark: true,
  onOpen: true,
  onEvent: true,
  onComment: true,
  onRetry: true,
  onClose: true,
} as const satisfies Record<OwnOptionKey, true>;

export function buildInit(options: FetchEventStreamOptions): { init: RequestInit; method: string } {
  const init: Record<string, unknown> = {};
  for (const key of Object.keys(options)) {
    if (!Object.hasOwn(OWN_OPTIONS, key)) init[key] = options[key as keyof FetchEventStreamOptions];
  }
  const request = init as RequestInit;
  if (options.json !== undefined) {
    if (request.body !== undefined && request.body !== null) {
      throw new TypeError('fetchEventStream: pass either `json` or `body`, not both.');
    }
    request.body = JSON.stringify(options.json);
    const headers = new Headers(request.headers);
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    request.headers = headers;
    request.method ??= 'POST';
  }
  const method = (request.method ?? 'GET').toUpperCase();
  if (
    (method === 'GET' || method === 'HEAD') &&
    request.body !== undefined &&
    request.body !== null
  ) {
    throw new TypeError(
      `fetchEventStream: a ${method} request cannot have a body; use method: 'POST'.`,
    );
  }
  return { init: request, method };
}
