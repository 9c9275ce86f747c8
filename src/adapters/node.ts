/**
 * ssekit/adapters/node: the one funnel from Node's `http` to Web handlers and back. Node
 * `IncomingMessage` -> Web `Request` (body streamed on demand, `signal` aborted when the client
 * goes away) -> handler -> Web `Response` -> `ServerResponse` (headers flushed at once for event
 * streams, `drain` awaited, the body cancelled when the client goes away). The Express, Koa and
 * Fastify adapters are thin wrappers over it.
 *
 * @module
 */
/// <reference types="node" />
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { StreamError } from '../errors.ts';
import { jsonErrorResponse } from '../server/json-error-response.ts';
import { sendWebResponse } from './_send-web-response.ts';

/** A Web handler with a second, platform-specific argument. */
export type FetchHandler<Context> = (
  request: Request,
  context: Context,
) => Response | Promise<Response>;

/** Options of every Node adapter. */
export interface NodeHandlerOptions {
  /**
   * Receives what the handler throws (the client then gets a 500 JSON error, or a cut connection
   * if the response had started) and a response body that fails mid-way. Cancellation is not an
   * error and is not reported.
   * @default logs with console.error
   */
  onError?: (error: unknown) => void;
  /**
   * Build `request.url` from `x-forwarded-proto` and `x-forwarded-host`. Only behind a proxy that
   * sets them: a client could set them too.
   * @default false
   */
  trustProxy?: boolean;
}

/** The context of {@link toNodeHandler}: Node's own request and response. */
export interface NodeContext {
  req: IncomingMessage;
  res: ServerResponse;
}

/** Options of {@link handleNodeRequest}. */
export interface HandleNodeRequestOptions<Context> extends NodeHandlerOptions {
  /** The handler's second argument. */
  context: Context;
  /**
   * A body a framework has parsed already (the Node stream is then used up): a string and bytes
   * pass as they are, a JSON content type gets `JSON.stringify(body)`.
   */
  parsedBody?: unknown;
}

const NO_BODY = new Set(['GET', 'HEAD']);

/**
 * A node:http request listener from a Web handler.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { toNodeHandler } from 'ssekit/adapters/node';
 * import { createEventStream } from 'ssekit/server';
 *
 * const server = createServer(
 *   toNodeHandler((request) =>
 *     createEventStream(request, async (stream) => {
 *       await stream.send({ data: 'hello' });
 *     }),
 *   ),
 * );
 * server.listen(3000);
 * ```
 */
export function toNodeHandler(
  handler: FetchHandler<NodeContext>,
  options: NodeHandlerOptions = {},
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return (req, res) => handleNodeRequest(req, res, handler, { ...options, context: { req, res } });
}

/**
 * Runs a Web handler for one Node request, from start to the end of the response. Never rejects:
 * a handler that throws gets a 500 JSON error (or a destroyed socket once the response started),
 * reported to `onError`. The funnel under every Node adapter, for wrappers of other frameworks.
 *
 * @example
 * ```ts
 * import { handleNodeRequest } from 'ssekit/adapters/node';
 *
 * // a framework that hands out Node's req and res:
 * router.post('/api/chat', (req, res) =>
 *   handleNodeRequest(req, res, chat, { context: { req, res }, parsedBody: req.body }),
 * );
 * ```
 */
export async function handleNodeRequest<Context>(
  req: IncomingMessage,
  res: ServerResponse,
  handler: FetchHandler<Context>,
  options: HandleNodeRequestOptions<Context>,
): Promise<void> {
  const report = options.onError ?? logError;
  const abort = new AbortController();
  const onClose = () => {
    if (!res.writableFinished) abort.abort(clientClosed());
  };
  res.once('close', onClose);
  let response: Response;
  try {
    const request = createWebRequest(req, abort.signal, options);
    response = await handler(request, options.context);
  } catch (error) {
    if (!abort.signal.aborted) report(error);
    response = jsonErrorResponse(error);
  }
  try {
    await sendWebResponse(req, res, response);
  } catch (error) {
    // The response body failed. A slow-consumer drop was reported by the stream that made it.
    if (!abort.signal.aborted && !StreamError.isInstance(error)) report(error);
  } finally {
    res.off('close', onClose);
  }
}

/**
 * A Web `Request` for a Node request: absolute URL, headers (HTTP/2 pseudo-headers left out), the
 * body streamed on demand, and `signal`.
 *
 * @example
 * ```ts
 * import { createWebRequest } from 'ssekit/adapters/node';
 *
 * const abort = new AbortController();
 * res.once('close', () => abort.abort());
 * const request = createWebRequest(req, abort.signal);
 * ```
 */
export function createWebRequest(
  req: IncomingMessage,
  signal: AbortSignal,
  options: Pick<HandleNodeRequestOptions<unknown>, 'parsedBody' | 'trustProxy'> = {},
): Request {
  const method = req.method ?? 'GET';
  const headers = new Headers();
  const raw = req.rawHeaders;
  for (let index = 0; index + 1 < raw.length; index += 2) {
    const name = raw[index]!;
    if (!name.startsWith(':')) headers.append(name, raw[index + 1]!);
  }
  const init: RequestInit & { duplex?: 'half' } = { method, headers, signal };
  if (!NO_BODY.has(method)) {
    const body =
      options.parsedBody === undefined ? nodeBody(req) : fromParsed(options.parsedBody, headers);
    if (body !== null) {
      init.body = body;
      init.duplex = 'half'; // required by undici for a stream body
    }
  }
  return new Request(requestUrl(req, options.trustProxy === true), init);
}

function requestUrl(req: IncomingMessage, trustProxy: boolean): string {
  const forwarded = (name: string) => {
    const value = trustProxy ? req.headers[name] : undefined;
    return typeof value === 'string' ? value.split(',', 1)[0]!.trim() : undefined;
  };
  const encrypted = (req.socket as Partial<TLSSocket> | null)?.encrypted === true;
  const protocol = forwarded('x-forwarded-proto') ?? (encrypted ? 'https' : 'http');
  const host = forwarded('x-forwarded-host') ?? req.headers.host ?? req.headers[':authority'];
  try {
    return new URL(req.url ?? '/', `${protocol}://${host ?? 'localhost'}`).href;
  } catch {
    // A malformed Host header must not fail the request: the path is what handlers route on.
    return new URL(req.url ?? '/', 'http://localhost').href;
  }
}

// A pull-driven stream over the Node request: nothing is read from the socket until the handler
// reads the body, and at most one chunk is buffered beyond what it asked for.
function nodeBody(req: IncomingMessage): ReadableStream<Uint8Array> | null {
  if (req.readableEnded) return null; // a framework consumed it already
  const length = req.headers['content-length'];
  if (length === '0' || (length === undefined && !req.headers['transfer-encoding'])) {
    if (req.httpVersionMajor === 1) return null;
  }
  let detach = () => {};
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const onData = (chunk: Uint8Array) => {
        controller.enqueue(chunk);
        if ((controller.desiredSize ?? 0) <= 0) req.pause();
      };
      const onEnd = () => {
        detach();
        controller.close();
      };
      const onError = (error: Error) => {
        detach();
        controller.error(error);
      };
      const onClose = () => {
        if (!req.complete)
          onError(new DOMException('The client aborted the request body.', 'AbortError'));
      };
      detach = () => {
        req.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
      };
      req.on('data', onData).once('end', onEnd).once('error', onError).once('close', onClose);
      req.pause();
    },
    pull() {
      req.resume();
    },
    cancel() {
      // Stop reading but keep the socket: a 413 must still reach the client. The response then
      // carries `connection: close`, so the unread rest is not drained.
      detach();
      req.pause();
    },
  });
}

function fromParsed(body: unknown, headers: Headers): BodyInit | null {
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array) return body as Uint8Array<ArrayBuffer>;
  if (isJsonContentType(headers.get('content-type'))) return JSON.stringify(body);
  return null;
}

function isJsonContentType(value: string | null): boolean {
  const mediaType = (value ?? '').split(';', 1)[0]!.trim().toLowerCase();
  return mediaType === 'application/json' || mediaType.endsWith('+json');
}

function clientClosed(): DOMException {
  return new DOMException('The client closed the connection.', 'AbortError');
}

function logError(error: unknown): void {
  console.error('ssekit: request handler failed:', error);
}

export { sendWebResponse };
