/**
 * Web `Response` -> Node `ServerResponse`, at the pace of the client's socket.
 */
/// <reference types="node" />
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isEventStreamType } from '../_internal/http.ts';

// Connection-specific headers that HTTP/2 forbids (Node throws on them).
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  'proxy-connection',
]);

/**
 * Writes `response` to `res`: status, headers, then the body chunk by chunk, awaiting `drain`
 * whenever the socket is full. For an event stream the headers are flushed at once (the client
 * sees the response open before the first event), Nagle is off, and HTTP/1.1 gets
 * `connection: keep-alive`. When the client goes away the body is cancelled, which ends an ssekit
 * producer. Rejects with the body's error if the body fails (the socket is destroyed, so the
 * client sees a cut, not a clean end). The Web way of the Node funnel (src/adapters/node.ts); an
 * ssekit event stream of the adapter's own request takes the direct lane instead.
 */
export async function sendWebResponse(
  req: IncomingMessage,
  res: ServerResponse,
  response: Response,
): Promise<void> {
  const eventStream = isEventStreamType(response.headers.get('content-type'));
  if (res.headersSent) {
    await response.body?.cancel();
    throw new TypeError(
      `sendWebResponse: the headers of ${req.method} ${req.url} were sent already.`,
    );
  }
  writeHead(req, res, response, eventStream);
  const body = response.body;
  if (!body || req.method === 'HEAD' || res.destroyed) {
    res.end();
    await body?.cancel();
    return;
  }
  if (eventStream) {
    res.flushHeaders();
    req.socket?.setNoDelay(true);
  }
  await pipe(body, res);
}

/** Status and headers of `response` on `res` (HTTP/2: without connection headers). */
export function writeHead(
  req: IncomingMessage,
  res: ServerResponse,
  response: Pick<Response, 'status' | 'statusText' | 'headers'>,
  eventStream: boolean,
): void {
  const http1 = req.httpVersionMajor === 1;
  res.statusCode = response.status;
  if (http1 && response.statusText) res.statusMessage = response.statusText;
  for (const [name, value] of response.headers) {
    if (name === 'set-cookie' || (!http1 && HOP_BY_HOP.has(name))) continue;
    res.setHeader(name, value);
  }
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) res.setHeader('set-cookie', cookies);
  if (!http1) return;
  if (eventStream && req.httpVersionMinor >= 1) res.setHeader('connection', 'keep-alive');
  // A body the handler did not read (a 413 answered early) would otherwise be drained in full
  // before the connection can serve the next request: close it instead.
  else if (!req.complete) res.setHeader('connection', 'close');
}

async function pipe(body: ReadableStream<Uint8Array>, res: ServerResponse): Promise<void> {
  const reader = body.getReader();
  let wake: (() => void) | undefined;
  // One handler for the whole response (not one per drain wait, which would pile up on a long
  // stream): the body ending or failing also ends a wait for drain.
  reader.closed.then(
    () => wake?.(),
    () => wake?.(),
  );
  const onClose = () => {
    if (!res.writableFinished) {
      reader.cancel(new DOMException('The client closed the connection.', 'AbortError')).then(
        undefined,
        () => undefined, // the body had failed already; that failure is what the read loop sees
      );
    }
    wake?.();
  };
  res.once('close', onClose);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!res.write(value)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            res.off('drain', done);
            wake = undefined;
            resolve();
          };
          wake = done;
          res.once('drain', done);
        });
      }
    }
    if (!res.destroyed) res.end();
  } catch (error) {
    res.destroy(); // no argument: an error argument would be emitted as 'error' with no listener
    throw error;
  } finally {
    res.off('close', onClose);
  }
}
