/**
 * One Node request as the adapter serves it: whether the client left (and who hears it), and the
 * response. An ssekit event stream of the adapter's own request takes the direct lane
 * (src/_internal/direct-lane.ts): its body writes to `res` through this object, which tells it
 * when `drain` comes; anything else goes the Web way (`sendWebResponse`).
 *
 * A class, and the one object an idle event stream keeps here besides its `close` listener and
 * the adapter's promise: with thousands of connections every object counts.
 */
/// <reference types="node" />
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { ByteSink, ClientWatcher, DirectBody } from '../_internal/direct-lane.ts';
import { takeDirectBody } from '../_internal/direct-response.ts';
import { StreamError } from '../errors.ts';
import { sendWebResponse, writeHead } from './_send-web-response.ts';
import type { Client } from './_web-request.ts';

export class NodeConnection implements Client, ByteSink {
  readonly #res: ServerResponse;
  readonly #report: (error: unknown) => void;
  readonly #done: () => void;
  /** Why the client left; `undefined` while it is there. */
  reason: unknown;
  abort: AbortController | undefined;
  watcher: ClientWatcher | undefined;
  #body: DirectBody | undefined;
  #onDrain: (() => void) | undefined;

  constructor(res: ServerResponse, report: (error: unknown) => void, done: () => void) {
    this.#res = res;
    this.#report = report;
    this.#done = done;
    // A bound method, not an arrow function: no closure context per connection (about 50 bytes
    // less for each idle stream).
    res.on('close', this.closed.bind(this));
  }

  /** The request in error messages: its method and path (what Node keeps anyway). */
  describe(): string {
    const req = this.#res.req;
    return `${req.method} ${req.url}`;
  }

  /** The response closed: if it had not finished, the client left. */
  closed(): void {
    // `writableEnded` too: on HTTP/2, a stream the client reset (RST_STREAM) reports
    // `writableFinished` although the response never ended.
    const res = this.#res;
    if ((res.writableEnded && res.writableFinished) || this.reason !== undefined) return;
    this.reason = new DOMException('The client closed the connection.', 'AbortError');
    this.abort?.abort(this.reason);
    this.watcher?.clientLeft(this.reason);
  }

  /** Sends the handler's response, then calls `done`. */
  send(req: IncomingMessage, response: Response): void {
    const body = takeDirectBody(response);
    if (body) {
      NodeConnection.#sendDirect(this, req, response.headers, body);
      return;
    }
    // A response before the end of the body (a 413 answered early) goes with `connection: close`
    // (see writeHead): close in stages then, or the close resets the connection under it.
    if (req.httpVersionMajor === 1 && !req.complete) closeInStages(req);
    sendWebResponse(req, this.#res, response).then(this.#done, (error: unknown) => {
      NodeConnection.#failed(this, error);
      this.#done();
    });
  }

  write(chunk: Uint8Array): boolean {
    if (this.#res.write(asBuffer(chunk))) return true;
    if (!this.#onDrain) {
      // Made at the first full socket, then kept: most connections never need it.
      const body = this.#body!;
      this.#onDrain = () => body.drained();
      this.#res.on('drain', this.#onDrain);
    }
    return false;
  }

  get pendingBytes(): number {
    return this.#res.writableLength;
  }

  end(): void {
    NodeConnection.#stop(this);
    if (!this.#res.destroyed) this.#res.end();
    this.#done();
  }

  fail(reason: unknown): void {
    NodeConnection.#stop(this);
    this.#res.destroy(); // no argument: an error argument would be emitted as 'error' with no listener
    NodeConnection.#failed(this, reason);
    this.#done();
  }

  static #sendDirect(
    connection: NodeConnection,
    req: IncomingMessage,
    headers: Headers,
    body: DirectBody,
  ): void {
    const res = connection.#res;
    if (res.headersSent || res.destroyed) {
      body.clientLeft(undefined);
      if (!res.destroyed) {
        NodeConnection.#failed(
          connection,
          new TypeError(
            `sendWebResponse: the headers of ${req.method} ${req.url} were sent already.`,
          ),
        );
      }
      connection.#done();
      return;
    }
    if (req.httpVersionMajor === 1) {
      // One array to writeHead, not setHeader per header: Node keeps no header table per response.
      const list: string[] = [];
      for (const [name, value] of headers) {
        if (name !== 'set-cookie') list.push(name, value);
      }
      for (const cookie of headers.getSetCookie()) list.push('set-cookie', cookie);
      if (req.httpVersionMinor >= 1) list.push('connection', 'keep-alive');
      res.writeHead(200, list);
    } else {
      writeHead(req, res, { status: 200, statusText: '', headers }, true);
    }
    res.flushHeaders();
    req.socket?.setNoDelay(true);
    connection.#body = body;
    body.attach(connection);
  }

  // A slow-consumer drop was reported by the stream that made it; a client leaving is no error.
  static #failed(connection: NodeConnection, error: unknown): void {
    if (connection.reason === undefined && !StreamError.isInstance(error))
      connection.#report(error);
  }

  static #stop(connection: NodeConnection): void {
    if (connection.#onDrain) connection.#res.off('drain', connection.#onDrain);
    connection.#onDrain = undefined;
  }
}

/** After the response: at most this long without a byte from the client, then the close. */
const LINGER_IDLE_MS = 2_000;
/** After the response: at most this long in all, then the close. */
const LINGER_MAX_MS = 10_000;

/**
 * Closes the connection of `req` in stages once its response is written, as RFC 9112 §9.6 asks of
 * a server that closes with request data unread: a close with unread bytes in the receive buffer
 * sends a reset, and a client still uploading then loses the response it has not read yet (it
 * sees EPIPE or ECONNRESET and, taking it for a network error, uploads again). So: the response
 * (Node writes it), a half-close (FIN after it), the rest of the upload read and discarded until
 * the client is done sending, stays silent for `LINGER_IDLE_MS` or `LINGER_MAX_MS` passes, then
 * the close.
 *
 * Node's server closes a `connection: close` response's socket with `socket.destroySoon()` when
 * the response finishes, which destroys it at once after the FIN: this socket's own
 * `destroySoon` does the stages instead.
 * @see https://www.rfc-editor.org/rfc/rfc9112#section-9.6
 */
function closeInStages(req: IncomingMessage): void {
  const socket = req.socket as (Socket & { destroySoon?: () => void }) | null;
  if (!socket || typeof socket.destroySoon !== 'function') return;
  socket.destroySoon = () => {
    socket.end(); // the half-close: FIN once the response is out
    let idle: ReturnType<typeof setTimeout> | undefined;
    const close = () => {
      clearTimeout(idle);
      clearTimeout(max);
      req.off('data', onData).off('end', close);
      socket.off('end', close);
      socket.destroy(); // nothing unread any more, or past the bound
    };
    const onData = () => {
      clearTimeout(idle);
      idle = setTimeout(close, LINGER_IDLE_MS);
    };
    const max = setTimeout(close, LINGER_MAX_MS);
    onData();
    socket.once('close', close);
    socket.once('end', close); // the client is done sending
    // The parser still feeds the rest of the body to `req`: flowing with no reader, it is dropped.
    req.on('data', onData).once('end', close);
    req.resume();
  };
}

// Node turns every Uint8Array written into a Buffer over the same memory. The hub writes one
// chunk to every subscriber in turn: made once, the Buffer serves them all. (Small chunks only:
// the cache must not keep a large one alive.)
let lastChunk: Uint8Array | undefined;
let lastBuffer: Buffer | undefined;
function asBuffer(chunk: Uint8Array): Buffer {
  if (chunk.byteLength > 16_384)
    return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (chunk !== lastChunk) {
    lastChunk = chunk;
    lastBuffer = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  }
  return lastBuffer!;
}
