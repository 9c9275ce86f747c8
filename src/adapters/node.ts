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
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { jsonErrorResponse } from '../server/json-error-response.ts';
import { NodeConnection } from './_node-connection.ts';
import { type Client, createWatchedRequest, webRequestInit } from './_web-request.ts';

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

/**
 * A request listener for `node:http`, `node:https` and `node:http2` (its compatibility API:
 * `http2.createSecureServer(options, listener)`, HTTP/1.1 clients too with `allowHTTP1`).
 */
export interface NodeRequestListener {
  (req: IncomingMessage, res: ServerResponse): Promise<void>;
  (req: Http2ServerRequest, res: Http2ServerResponse): Promise<void>;
}

/**
 * The context of {@link toNodeHandler}: Node's own request and response (on HTTP/2, the
 * compatibility API's `Http2ServerRequest` and `Http2ServerResponse`, which mirror them).
 */
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
 * // HTTP/2 (browsers need TLS for it): http2.createSecureServer({ key, cert }, listener)
 * ```
 */
export function toNodeHandler(
  handler: FetchHandler<NodeContext>,
  options: NodeHandlerOptions = {},
): NodeRequestListener {
  // HTTP/2's compatibility objects mirror IncomingMessage and ServerResponse where the adapter
  // uses them (it never writes connection-specific headers on HTTP/2: see _node-connection.ts).
  return ((req: IncomingMessage, res: ServerResponse) =>
    handleNodeRequest(req, res, handler, {
      ...options,
      context: { req, res },
    })) as NodeRequestListener;
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
export function handleNodeRequest<Context>(
  req: IncomingMessage,
  res: ServerResponse,
  handler: FetchHandler<Context>,
  options: HandleNodeRequestOptions<Context>,
): Promise<void> {
  // The promise is what the returned one waits for; the connection resolves it when the response
  // ends. No async function and no closure here lives as long as the response does: an idle event
  // stream keeps the promise, the connection and its close listener, not the handler or options.
  return new Promise<void>((resolve) => {
    const report = options.onError ?? logError;
    void serve(req, handler, options, new NodeConnection(res, report, resolve), report);
  });
}

async function serve<Context>(
  req: IncomingMessage,
  handler: FetchHandler<Context>,
  options: HandleNodeRequestOptions<Context>,
  connection: NodeConnection,
  report: (error: unknown) => void,
): Promise<void> {
  try {
    connection.send(req, await respond(req, handler, options, connection, report));
  } catch (error) {
    report(error);
    connection.end();
  }
}

async function respond<Context>(
  req: IncomingMessage,
  handler: FetchHandler<Context>,
  options: HandleNodeRequestOptions<Context>,
  client: Client,
  report: (error: unknown) => void,
): Promise<Response> {
  try {
    return await handler(createWatchedRequest(req, client, options), options.context);
  } catch (error) {
    if (client.reason === undefined) report(error);
    return jsonErrorResponse(error);
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
  const { url, init } = webRequestInit(req, options);
  init.signal = signal;
  return new Request(url, init);
}

function logError(error: unknown): void {
  console.error('ssekit: request handler failed:', error);
}
