/**
 * Node `IncomingMessage` -> Web `Request`, for the Node adapter: absolute URL, headers (HTTP/2
 * pseudo-headers left out), the body streamed on demand. The adapter's own requests tell their
 * stream when the client leaves without an `AbortSignal`, and make `request.signal` only when a
 * handler asks for it (see src/_internal/direct-lane.ts): an idle event stream holds neither.
 */
/// <reference types="node" />
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { ClientWatcher, RequestName } from '../_internal/direct-lane.ts';
import { kRequestName, kWatchClient } from '../_internal/direct-lane.ts';
import { isJsonType } from '../_internal/http.ts';

/** How the request is built: a body a framework parsed already, and whether to trust proxies. */
export interface WebRequestOptions {
  parsedBody?: unknown;
  trustProxy?: boolean;
}

const NO_BODY = new Set(['GET', 'HEAD']);

/** The URL and the init of the Web `Request` for `req`, without a signal. */
export function webRequestInit(
  req: IncomingMessage,
  options: WebRequestOptions,
): { url: string; init: RequestInit & { duplex?: 'half' } } {
  const method = req.method ?? 'GET';
  // Pairs, which the Request copies into its own Headers: no second Headers object to fill.
  const headers: Array<[string, string]> = [];
  const raw = req.rawHeaders;
  for (let index = 0; index + 1 < raw.length; index += 2) {
    const name = raw[index]!;
    if (!name.startsWith(':')) headers.push([name, raw[index + 1]!]);
  }
  const init: RequestInit & { duplex?: 'half' } = { method, headers };
  if (!NO_BODY.has(method)) {
    const body =
      options.parsedBody === undefined ? nodeBody(req) : fromParsed(options.parsedBody, req);
    if (body !== null) {
      init.body = body;
      init.duplex = 'half'; // required by undici for a stream body
    }
  }
  return { url: requestUrl(req, options.trustProxy === true), init };
}

/** What the adapter knows of its client (src/adapters/_node-connection.ts). */
export interface Client extends RequestName {
  /** Why the client left; `undefined` while it is there. */
  readonly reason: unknown;
  /** The controller of `request.signal`, made when a handler first asks for it. */
  abort: AbortController | undefined;
  /** The one stream that hears the client leave. */
  watcher: ClientWatcher | undefined;
}

/**
 * A real `Request` (the handler may pass it to `fetch`, clone it, read its body), whose `signal`
 * is made when first asked for, and which tells one {@link ClientWatcher} when the client leaves.
 * A subclass because `signal` is the one member to change and only the constructor of `Request`
 * can make the rest.
 */
class WatchedRequest extends Request {
  readonly #client: Client;

  constructor(url: string, init: RequestInit, client: Client) {
    super(url, init);
    this.#client = client;
  }

  [kRequestName](): RequestName {
    return this.#client;
  }

  [kWatchClient](watcher: ClientWatcher): void {
    if (this.#client.reason !== undefined) watcher.clientLeft(this.#client.reason);
    else this.#client.watcher = watcher;
  }

  static {
    Object.defineProperty(WatchedRequest.prototype, 'signal', {
      configurable: true,
      enumerable: true,
      get(this: WatchedRequest): AbortSignal {
        const client = this.#client;
        if (!client.abort) {
          client.abort = new AbortController();
          if (client.reason !== undefined) client.abort.abort(client.reason);
        }
        return client.abort.signal;
      },
    });
  }
}

/** The adapter's request for `req`. */
export function createWatchedRequest(
  req: IncomingMessage,
  client: Client,
  options: WebRequestOptions,
): Request {
  const { url, init } = webRequestInit(req, options);
  return new WatchedRequest(url, init, client);
}

function requestUrl(req: IncomingMessage, trustProxy: boolean): string {
  const forwarded = (name: string) => {
    const value = trustProxy ? rawHeader(req, name) : undefined;
    return value === undefined ? undefined : value.split(',', 1)[0]!.trim();
  };
  const encrypted = (req.socket as Partial<TLSSocket> | null)?.encrypted === true;
  const protocol = forwarded('x-forwarded-proto') ?? (encrypted ? 'https' : 'http');
  const host =
    forwarded('x-forwarded-host') ?? rawHeader(req, 'host') ?? rawHeader(req, ':authority');
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
  const length = rawHeader(req, 'content-length');
  if (length === '0' || (length === undefined && !rawHeader(req, 'transfer-encoding'))) {
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

function fromParsed(body: unknown, req: IncomingMessage): BodyInit | null {
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array) return body as Uint8Array<ArrayBuffer>;
  if (isJsonType(rawHeader(req, 'content-type'))) return JSON.stringify(body);
  return null;
}

// The first value of a header, from `rawHeaders`: `req.headers` would make (and keep) an object of
// every header for each request.
function rawHeader(req: IncomingMessage, name: string): string | undefined {
  const raw = req.rawHeaders;
  for (let index = 0; index + 1 < raw.length; index += 2) {
    const candidate = raw[index]!;
    if (candidate.length === name.length && candidate.toLowerCase() === name) return raw[index + 1];
  }
  return undefined;
}
