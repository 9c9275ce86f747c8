/**
 * A real node:http server on a free loopback port, for tests that need real sockets.
 *
 * `handler` gets the Node request and response; the helper counts requests and the connections
 * closed by the client before the response ended (`aborts`), and can `restart()` on the same port.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach } from 'vitest';

export type NodeHandler = (req: IncomingMessage, res: ServerResponse) => unknown;

export interface TestServer {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
  /** Requests received since start. */
  readonly requests: number;
  /** Responses whose connection closed before they ended. */
  readonly aborts: number;
  /** Resolves at the next client abort (or at once if `count` aborts already happened). */
  waitForAborts(count: number): Promise<void>;
  /** Resolves when `count` requests have arrived. */
  waitForRequests(count: number): Promise<void>;
  /** Destroys every open connection (a network failure, as the client sees it). */
  dropConnections(): void;
  /** Stops and starts again on the same port. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export async function startServer(handler: NodeHandler): Promise<TestServer> {
  let requests = 0;
  let aborts = 0;
  const waiters: Array<() => void> = [];
  const sockets = new Set<Socket>();
  const notify = () => {
    for (const waiter of waiters.splice(0)) waiter();
  };

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    requests++;
    notify();
    res.once('close', () => {
      if (!res.writableFinished) {
        aborts++;
        notify();
      }
    });
    Promise.resolve(handler(req, res)).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(error));
    });
  };

  let server: Server = createServer(listener);
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };
  server.on('connection', track);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  const until = (check: () => boolean) =>
    new Promise<void>((resolve) => {
      const test = () => (check() ? resolve() : waiters.push(test));
      test();
    });

  const stop = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get requests() {
      return requests;
    },
    get aborts() {
      return aborts;
    },
    waitForAborts: (count) => until(() => aborts >= count),
    waitForRequests: (count) => until(() => requests >= count),
    dropConnections() {
      for (const socket of sockets) socket.destroy();
    },
    async restart() {
      await stop();
      server = createServer(listener);
      server.on('connection', track);
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    },
    close: stop,
  };
}

/**
 * One server per test: `serve()` starts it on a free port, and it is closed after the test.
 * Call at the top of a file, before the file's own `afterEach` (hooks run in reverse order, so
 * the file's own cleanup runs first).
 */
export function serverPerTest(): {
  serve(handler: NodeHandler): Promise<TestServer>;
  readonly current: TestServer | undefined;
} {
  let current: TestServer | undefined;
  afterEach(async () => {
    await current?.close();
    current = undefined;
  });
  return {
    async serve(handler) {
      current = await startServer(handler);
      return current;
    },
    get current() {
      return current;
    },
  };
}

/** Reads a Node request body as text. */
export async function readBody(req: IncomingMessage): Promise<string> {
  let body = '';
  req.setEncoding('utf8');
  for await (const chunk of req) body += chunk;
  return body;
}

/** Writes the headers of an event stream. */
export function writeEventStreamHead(
  res: ServerResponse,
  headers: Record<string, string> = {},
): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    ...headers,
  });
  res.flushHeaders();
}
