/**
 * Frozen subscribers of a hub topic (they subscribe and never read), served by the Node adapter
 * while the topic is published to steadily: each is dropped as a slow consumer for the documented
 * reason (`writeTimeoutMs` after its socket stopped taking data), what the process holds for each
 * stays within the documented bound while it lasts, and a healthy subscriber of the same topic gets
 * every event, in order, and is never dropped. (Seconds: the kernel takes megabytes into each
 * frozen socket before it stops taking data.) The latencies this costs the healthy clients are
 * measured by `npm run bench:frozen`, not asserted here.
 */
import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { type NodeContext, toNodeHandler } from '../../src/adapters/node.ts';
import { fetchEventStream } from '../../src/client/index.ts';
import { StreamError } from '../../src/errors.ts';
import { createHub, type Hub } from '../../src/hub/index.ts';
import { startServer, type TestServer } from '../helpers/http-server.ts';
import { rawRequest, watchUnhandledRejections } from '../helpers/server-stream.ts';

const FROZEN = 20;
const WRITE_TIMEOUT_MS = 300;
const HIGH_WATER_MARK = 64 * 1024;
const EVENT = 'x'.repeat(32 * 1024);
/** Each event on the wire: `id: <ms>-<seq>\ndata: <32 KiB>\n\n`, and chunked framing. */
const EVENT_BYTES = 32 * 1024 + 64;
/** Enough to fill the kernel's buffers of every frozen socket many times over; never reached. */
const MAX_PUBLISHES = 20_000;

let hub: Hub;
let server: TestServer;
const frozen: ServerResponse[] = [];
const dropped: unknown[] = [];
const healthyErrors: unknown[] = [];
let subscribed = 0;
const rejections = watchUnhandledRejections();

beforeAll(async () => {
  hub = createHub();
  server = await startServer(
    toNodeHandler(async (request, context: NodeContext) => {
      const isFrozen = new URL(request.url).searchParams.has('frozen');
      if (isFrozen) frozen.push(context.res);
      const response = await hub.subscribe(request, 'feed', {
        writeTimeoutMs: WRITE_TIMEOUT_MS,
        highWaterMark: HIGH_WATER_MARK,
        heartbeatMs: 0,
        onError: (error) => (isFrozen ? dropped : healthyErrors).push(error),
      });
      subscribed++;
      return response;
    }),
  );
});
afterAll(async () => {
  rejections.stop();
  await server.close();
  await hub.close();
  expect(rejections.reasons).toEqual([]);
});

test('frozen topic subscribers are dropped after writeTimeoutMs, holding a bounded amount; a healthy one gets every event', async () => {
  const healthy = fetchEventStream(`${server.url}/feed`, { retry: false });
  const received: string[] = [];
  const reading = (async () => {
    for await (const event of healthy) {
      if (event.data === 'end') return;
      received.push(event.id);
    }
  })();
  const sockets = await Promise.all(
    Array.from({ length: FROZEN }, () =>
      rawRequest(server.port, 'GET /feed?frozen HTTP/1.1\r\nhost: x\r\n\r\n'),
    ),
  );
  for (const socket of sockets) {
    socket.pause(); // never read: the receive buffer fills, then the server's send buffer
    socket.on('error', () => {});
  }
  while (subscribed < FROZEN + 1) await new Promise((resolve) => setImmediate(resolve));

  const published: string[] = [];
  let mostUnsent = 0;
  for (let count = 0; dropped.length < FROZEN && count < MAX_PUBLISHES; count++) {
    published.push(await hub.publish('feed', { data: EVENT }));
    for (const res of frozen) mostUnsent = Math.max(mostUnsent, res.writableLength);
    // Let sockets drain and timers fire between publishes, as a steady publisher does.
    await new Promise((resolve) => setImmediate(resolve));
  }
  await hub.publish('feed', { data: 'end' });
  await reading;
  healthy.close();
  for (const socket of sockets) socket.destroy();

  expect(dropped).toHaveLength(FROZEN);
  for (const error of dropped) {
    expect(StreamError.isInstance(error) && error.code).toBe('slow-consumer');
    expect((error as Error).message).toMatch(
      /read nothing for writeTimeoutMs \(300 ms\) with \d+ bytes waiting/,
    );
  }
  // What the socket holds unsent is at most one flush of the queue (within the high-water mark
  // plus one event); the queue itself stays within the same (a subscriber past it reads from the
  // log instead).
  expect(mostUnsent).toBeLessThanOrEqual(HIGH_WATER_MARK + EVENT_BYTES);
  expect(healthyErrors).toEqual([]);
  expect(received).toEqual(published);
});
