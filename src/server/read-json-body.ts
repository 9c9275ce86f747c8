import { concatBytes } from '../_internal/bytes.ts';
import { isJsonType } from '../_internal/http.ts';
import { RequestError } from '../errors.ts';

/**
 * The largest request body read by default, in bytes (1 MiB): `readJsonBody`'s `maxBytes` and
 * `eventStreamHandler`'s `maxBodyBytes`.
 * @internal
 */
export const DEFAULT_MAX_BODY_BYTES = 1_048_576;

/** Options of {@link readJsonBody}. */
export interface ReadJsonBodyOptions {
  /**
   * The largest body accepted, in bytes. A larger `content-length` is refused before reading; a
   * body without one (chunked) is read only up to the limit.
   * @default 1_048_576 (1 MiB)
   */
  maxBytes?: number;
  /**
   * The deepest nesting of arrays and objects accepted. `JSON.parse` itself copes with any depth,
   * but code that walks the value recursively (`JSON.stringify`, `structuredClone`, validators)
   * overflows the stack at a few thousand levels: a body nested 100 000 deep is refused with a
   * 400 instead. The default is Jackson's.
   * @default 1_000
   */
  maxDepth?: number;
}

/**
 * Reads a request body as JSON, streamed, within a byte limit, and throws a {@link RequestError}
 * that `jsonErrorResponse` turns into the right answer:
 *
 * - `unsupported-media-type` (415): the content type is not `application/json` (or `+json`);
 * - `payload-too-large` (413): `content-length` or the bytes read exceed `maxBytes` (reading stops
 *   there and the body is cancelled: nothing past the limit is buffered);
 * - `bad-request` (400): the body is empty, not UTF-8, not JSON, or nested deeper than `maxDepth`.
 *
 * Keys such as `__proto__` are kept as own properties (`JSON.parse` never sets a prototype), so a
 * body cannot pollute `Object.prototype`; spreading or `Object.assign`-ing it into another object
 * is where that danger would start.
 *
 * @example
 * ```ts
 * import { jsonErrorResponse, readJsonBody, RequestError } from 'ssekit/server';
 *
 * let body: unknown;
 * try {
 *   body = await readJsonBody(request, { maxBytes: 64 * 1024 });
 * } catch (error) {
 *   if (RequestError.isInstance(error)) return jsonErrorResponse(error);
 *   throw error;
 * }
 * ```
 */
export async function readJsonBody(
  request: Request,
  options: ReadJsonBodyOptions = {},
): Promise<unknown> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BODY_BYTES;
  const maxDepth = options.maxDepth ?? 1_000;
  if (!(Number.isSafeInteger(maxBytes) && maxBytes > 0)) {
    throw new TypeError(`readJsonBody: maxBytes must be a positive integer, got ${maxBytes}.`);
  }
  if (!(Number.isSafeInteger(maxDepth) && maxDepth > 0)) {
    throw new TypeError(`readJsonBody: maxDepth must be a positive integer, got ${maxDepth}.`);
  }
  if (request.bodyUsed) {
    throw new TypeError('readJsonBody: the request body was read already; read it only once.');
  }
  const where = `${request.method} ${new URL(request.url).pathname}`;
  const contentType = request.headers.get('content-type');
  if (!isJsonType(contentType)) {
    await request.body?.cancel();
    throw new RequestError(
      'unsupported-media-type',
      `${where} expects a JSON body (content-type: application/json), got ${contentType === null ? 'no content-type' : JSON.stringify(contentType)}.`,
    );
  }
  const declared = Number(request.headers.get('content-length') ?? Number.NaN);
  if (declared > maxBytes) {
    await request.body?.cancel();
    throw tooLarge(where, maxBytes, `content-length is ${declared}`);
  }
  const bytes = await readAtMost(request.body, maxBytes, where);
  return parseJson(bytes, where, maxDepth);
}

async function readAtMost(
  body: ReadableStream<Uint8Array> | null,
  maxBytes: number,
  where: string,
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (body) {
    const reader = body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel();
        throw tooLarge(where, maxBytes, `more than ${maxBytes} bytes arrived`);
      }
      chunks.push(value);
    }
  }
  return concatBytes(chunks, size);
}

function parseJson(bytes: Uint8Array, where: string, maxDepth: number): unknown {
  if (bytes.byteLength === 0) {
    throw new RequestError('bad-request', `${where} expects a JSON body, got an empty body.`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (error) {
    throw new RequestError('bad-request', `The body of ${where} is not valid UTF-8.`, {
      cause: error,
    });
  }
  if (nestedDeeper(text, maxDepth)) {
    throw new RequestError(
      'bad-request',
      `The body of ${where} is nested deeper than the limit of ${maxDepth} levels.`,
    );
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    const detail = error instanceof Error ? `: ${error.message}` : '';
    throw new RequestError('bad-request', `The body of ${where} is not valid JSON${detail}.`, {
      cause: error,
    });
  }
}

// True when arrays and objects nest deeper than `maxDepth` outside strings. A body with fewer
// brackets than that cannot, so most bodies are decided by the first loop alone.
function nestedDeeper(text: string, maxDepth: number): boolean {
  let opening = 0;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code === 0x5b || code === 0x7b) opening++;
  }
  if (opening <= maxDepth) return false;
  let depth = 0;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code === 0x22) {
      // Skip the string: to the next quote not escaped by an odd run of backslashes.
      for (index++; index < text.length; index++) {
        const inner = text.charCodeAt(index);
        if (inner === 0x5c) index++;
        else if (inner === 0x22) break;
      }
    } else if (code === 0x5b || code === 0x7b) {
      if (++depth > maxDepth) return true;
    } else if (code === 0x5d || code === 0x7d) {
      depth--;
    }
  }
  return false;
}

function tooLarge(where: string, maxBytes: number, why: string): RequestError {
  return new RequestError(
    'payload-too-large',
    `The body of ${where} is larger than the limit of ${maxBytes} bytes (${why}).`,
  );
}
