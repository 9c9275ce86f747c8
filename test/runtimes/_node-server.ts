/**
 * A plain node:http event-stream server written by hand (no ssekit on this side), for the clients
 * running inside the runtimes: tokens, a connection cut mid-stream, and a server restart. It
 * records each request's `Last-Event-ID` and body by scenario key.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

export const TOKENS: readonly string[] = ['Hel', 'lo', ', ', 'wörld', ' 👋🏽', ' 日本語'];

export interface SeenRequest {
  method: string;
  lastEventId: string | null;
  body: string;
}

export interface NodeServer {
  url: string;
  /** Requests by `?key=`. */
  requests: Map<string, SeenRequest[]>;
  /** Connections the server accepted while it was down and up again. */
  restarts: number;
  close(): Promise<void>;
}

const HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' };

function token(index: number): string {
  return `event: token\nid: ${index + 1}\ndata: ${TOKENS[index]}\n\n`;
}

async function readBody(req: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of req) body += chunk;
  return body;
}

export async function startNodeServer(): Promise<NodeServer> {
  const requests = new Map<string, SeenRequest[]>();
  let port = 0;
  let restarts = 0;
  const server = createServer((req, res) => void handle(req, res));

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const key = url.searchParams.get('key') ?? '';
    const lastEventId = req.headers['last-event-id'];
    const seen = {
      method: req.method ?? '',
      lastEventId: typeof lastEventId === 'string' ? lastEventId : null,
      body: await readBody(req),
    };
    requests.set(key, [...(requests.get(key) ?? []), seen]);
    const from = seen.lastEventId === null ? 0 : Number(seen.lastEventId);
    if (url.pathname === '/tokens') {
      res.writeHead(200, HEADERS);
      res.end(`${TOKENS.map((_, index) => token(index)).join('')}event: done\ndata: {}\n\n`);
    } else if (url.pathname === '/cut' || url.pathname === '/restart') {
      res.writeHead(200, HEADERS);
      const half = TOKENS.length / 2;
      if (from === 0) {
        // The first half, then the connection dies mid-body: no terminating chunk, no done.
        res.write(
          `retry: 50\n\n${TOKENS.slice(0, half)
            .map((_, index) => token(index))
            .join('')}`,
        );
        await new Promise((resolve) => setTimeout(resolve, 50));
        if (url.pathname === '/cut') {
          res.socket?.destroy();
        } else {
          await restart();
        }
        return;
      }
      const rest = TOKENS.map((_, index) => index).filter((index) => index >= from);
      res.end(`${rest.map(token).join('')}event: done\ndata: {}\n\n`);
    } else {
      res.writeHead(404).end();
    }
  }

  async function listen(): Promise<void> {
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  }

  // The whole server goes away (every connection cut, the port refused) and comes back 300 ms
  // later on the same port, as a redeployed or restarted instance would.
  async function restart(): Promise<void> {
    const closed = new Promise((resolve) => server.close(resolve));
    server.closeAllConnections();
    await closed;
    await new Promise((resolve) => setTimeout(resolve, 300));
    await listen();
    restarts++;
  }

  await listen();
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    get restarts() {
      return restarts;
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
