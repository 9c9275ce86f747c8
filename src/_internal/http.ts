/**
 * HTTP helpers every layer needs once: media types, the bounded read of an error body, and the
 * `ResponseError` built from a response that is not an event stream.
 * @internal
 */
import { ResponseError } from '../errors.ts';

/**
 * What `new Headers(init)` takes, in whichever lib the consumer compiles with: the DOM's
 * `HeadersInit`, or undici's under `@types/node`. Public signatures use it instead of the DOM-only
 * global `HeadersInit`, so that the published types compile without the DOM lib.
 */
export type HeadersInput = ConstructorParameters<typeof Headers>[0];

/** The media type of a `content-type` value, lower-cased, without parameters (`''` when absent). */
export function mediaType(contentType: string | null | undefined): string {
  if (!contentType) return '';
  return contentType.split(';', 1)[0]!.trim().toLowerCase();
}

/**
 * True when a `content-type` value announces an event stream (any parameters, any case). As
 * Fetch's "extract a MIME type" reads it: of several values (repeated headers, joined by commas),
 * the last one that parses as a MIME type counts; unparsable values and the wildcard type are
 * skipped.
 * @see https://fetch.spec.whatwg.org/#concept-header-extract-mime-type
 */
export function isEventStreamType(contentType: string | null | undefined): boolean {
  let essence: string | undefined;
  // The values, split at every comma (Fetch skips commas in quoted strings: a piece cut there
  // starts or ends inside the quotes, and parses as a MIME type only if the quoted text is one
  // followed by `;`, which no server sends). `*/*` counts as unparsable.
  for (const value of contentType?.split(',') ?? [])
    essence = MIME_TYPE.exec(value)?.[1]?.toLowerCase().replace('*/*', '') || essence;
  return essence === 'text/event-stream';
}

/** A MIME type's essence: two HTTP tokens around a slash, then whitespace and `;` or the end. */
const MIME_TYPE = /^[\t ]*([\w!#-'*+.^`|~-]+\/[\w!#-'*+.^`|~-]+)[\t ]*(?:;|$)/;

/** True for `application/json` and every `+json` suffix type (`application/problem+json`). */
export function isJsonType(contentType: string | null | undefined): boolean {
  return JSON_MEDIA_TYPE.test(mediaType(contentType));
}

const JSON_MEDIA_TYPE = /^application\/(?:[\w.+-]+\+)?json$/;

/**
 * Reads at most `limit` bytes of a body as text and cancels the rest: enough to show a server's
 * error message without downloading an unbounded body.
 */
export async function readBodyStart(
  body: ReadableStream<Uint8Array> | null,
  limit = 8192,
): Promise<string> {
  if (!body) return '';
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    for (let size = 0; size < limit; ) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value.subarray(0, limit - size), { stream: true });
      size += value.length;
    }
    return text + decoder.decode();
  } catch (error) {
    return text || `(body unreadable: ${String(error)})`;
  } finally {
    discard(reader);
  }
}

/**
 * A response that is not an event stream as a `ResponseError`: `http-error` for a non-2xx status,
 * `invalid-content-type` for a 2xx of another type (unless `code` says otherwise), with a bounded
 * read of its body.
 */
export async function responseError(
  response: Response,
  method: string,
  url: string,
  code: 'http-error' | 'invalid-content-type' = response.ok ? 'invalid-content-type' : 'http-error',
): Promise<ResponseError> {
  const { status, statusText, headers } = response;
  const message =
    code === 'http-error'
      ? `Request failed with status ${`${status} ${statusText}`.trim()}`
      : `Expected content-type text/event-stream but received ${JSON.stringify(headers.get('content-type') ?? '')}`;
  return new ResponseError(code, `${message}: ${method} ${url}`, {
    status,
    statusText,
    headers,
    body: await readBodyStart(response.body),
    method,
    url,
  });
}

/**
 * Cancels a body (or its reader) without waiting: cancelling one that already errored or was
 * aborted rejects, and the read is over either way (what ended it has been reported).
 */
export function discard(body: { cancel(): Promise<void> } | null | undefined): void {
  body?.cancel().catch(() => {});
}
