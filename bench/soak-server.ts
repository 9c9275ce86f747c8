/**
 * The server process of the soak's frozen-client and slow-socket scenarios (bench/soak.ts): a
 * node:http server through the ssekit Node adapter, in a process of its own so that its event
 * loop is measured apart from the clients'. Talks to its parent over IPC: it sends `{ port }` when
 * listening, and answers every message with its figures (slow consumers dropped, peak RSS, the
 * longest event-loop stall since the last message).
 *
 * Routes: `/burst` a producer that does not await (16 KiB events, a yield every 8: the shape that
 * fills a frozen client's queue fastest), `/paced` a producer that awaits each 1 KiB event and
 * sleeps 2 ms, `/ping` a one-event stream.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { toNodeHandler } from '../src/adapters/node.ts';
import { createEventStream } from '../src/server/index.ts';

const BIG = { data: 'x'.repeat(16 * 1024 - 8) };
const SMALL = { data: 'x'.repeat(1024) };
let dropped = 0;
let peakRss = 0;
let longestStall = 0;
// SOAK_MAX_BUFFERED_BYTES: the streams' maxBufferedBytes (default: the library's, 1 MiB).
const maxBufferedBytes = process.env.SOAK_MAX_BUFFERED_BYTES;
const options = {
  onError: () => void dropped++,
  ...(maxBufferedBytes ? { maxBufferedBytes: Number(maxBufferedBytes) } : {}),
};

const server = createServer(
  toNodeHandler(async (request) => {
    const path = new URL(request.url).pathname;
    if (path === '/ping') return createEventStream(request, [{ data: 'pong' }], options);
    if (path === '/paced') {
      return createEventStream(
        request,
        async (stream) => {
          while (!stream.signal.aborted) {
            await stream.send(SMALL);
            await new Promise((resolve) => setTimeout(resolve, 2));
          }
        },
        options,
      );
    }
    return createEventStream(
      request,
      async (stream) => {
        let sent = 0;
        while (!stream.signal.aborted) {
          stream.send(BIG).catch(() => {}); // does not await: the queue is what grows
          if (++sent % 8 === 0) await new Promise((resolve) => setImmediate(resolve));
        }
      },
      options,
    );
  }),
);
server.listen(0, '127.0.0.1', () => {
  process.send?.({ port: (server.address() as AddressInfo).port });
});

let last = performance.now();
setInterval(() => {
  const now = performance.now();
  longestStall = Math.max(longestStall, now - last - 10);
  last = now;
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 10).unref();

process.on('message', () => {
  process.send?.({ dropped, peakRss, longestStall });
  longestStall = 0;
});
process.on('disconnect', () => process.exit(0));
