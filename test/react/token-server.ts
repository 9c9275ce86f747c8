/**
 * The event streams the useEventStream tests read, written by hand so that each test controls
 * chunking, ids and cuts exactly.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody, writeEventStreamHead } from '../helpers/http-server.ts';

const token = (index: number) => `id: ${index + 1}\nevent: token\ndata: {"text":"t${index} "}\n\n`;

/** A handler for startServer; `hits` counts requests per path (with query). */
export function startTokenServer(hits: Map<string, number>) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = req.url ?? '/';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const { pathname, searchParams } = new URL(path, 'http://localhost');
    if (pathname === '/tokens') {
      writeEventStreamHead(res);
      await pause(); // so that `open` renders on its own
      const count = Number(searchParams.get('n'));
      // Bursts of 25 events per write: what a fast model behind a fast network looks like.
      for (let start = 0; start < count; start += 25) {
        let chunk = '';
        for (let index = start; index < Math.min(count, start + 25); index++) chunk += token(index);
        res.write(chunk);
        await new Promise((resolve) => setImmediate(resolve));
      }
      res.end('event: done\ndata: {}\n\n');
      return;
    }
    if (pathname === '/echo') {
      const body = await readBody(req);
      writeEventStreamHead(res);
      res.write(`event: echo\ndata: ${req.method} ${body}\n\n`);
      res.write('event: extra\ndata: {"n":1}\n\n');
      res.end('event: done\ndata: {}\n\n');
      return;
    }
    if (pathname === '/slow') {
      writeEventStreamHead(res);
      let index = 0;
      const timer = setInterval(() => res.write(token(index++)), 10);
      res.once('close', () => clearInterval(timer));
      return;
    }
    if (pathname === '/cut') {
      writeEventStreamHead(res);
      const words = ['a ', 'b ', 'c ', 'd '];
      const from = Number(req.headers['last-event-id'] ?? 0);
      const until = from === 0 ? 2 : words.length;
      await pause(); // each state renders on its own
      for (let index = from; index < until; index++) {
        res.write(`id: ${index + 1}\ndata: ${JSON.stringify({ text: words[index] })}\n\n`);
      }
      await pause();
      if (until === words.length) res.end('event: done\ndata: {}\n\n');
      else res.destroy(); // cut: the client resumes from the last id
      return;
    }
    if (pathname === '/unauthorized') {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"no"}');
      return;
    }
    res.writeHead(404).end();
  };
}

// React batches updates that arrive close together; a pause lets each state render.
function pause(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 20));
}
