/**
 * One fan-out server per process: `node --expose-gc --import tsx bench/fanout-server.ts <kind>
 * <ssekit-base> <ext> [redis-url]`, driven by the parent (bench/fanout.ts) over IPC. ssekit is
 * imported from `<ssekit-base>` (a URL ending in /): its plain tsc build, as users run it, with
 * `<ext>` .js; or src/ through tsx with .ts (tsx keeps function names with a helper that gives
 * every named closure a property store: about 7 KiB more per connection, and a slower hot path).
 *
 * Every kind serves GET /events on 127.0.0.1 and broadcasts one ~100-byte JSON event to every
 * open stream on `broadcast`:
 *
 * - raw: node:http, the event encoded once and `res.write` to every response (the ceiling)
 * - better-sse: `createSession` + `channel.register`, `channel.broadcast`
 * - hono: `streamSSE` on @hono/node-server, `writeSSE` to a set of stream objects
 * - ssekit: `hub.subscribe` through `toNodeHandler`, `hub.publish` (memory engine)
 * - ssekit-redis: the same on `createRedisEngine` (ioredis)
 */
import { createServer, type RequestListener, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { createChannel, createSession } from 'better-sse';
import { Hono } from 'hono';
import { type SSEStreamingApi, streamSSE } from 'hono/streaming';
import { Redis } from 'ioredis';
import { nowUs, serveCalls } from './fanout-ipc.ts';
import { broadcastCalls, payload, TOPIC } from './fanout-shared.ts';

const [kind, ssekitBase, ext, redisUrl] = process.argv.slice(2) as [
  string,
  string,
  string,
  string | undefined,
];
const ssekit = async () => {
  const load = (path: string) => import(new URL(`${path}${ext}`, ssekitBase).href);
  return {
    ...((await load('adapters/node')) as typeof import('../src/adapters/node.ts')),
    ...((await load('hub/index')) as typeof import('../src/hub/index.ts')),
    ...((await load('hub/redis')) as typeof import('../src/hub/redis.ts')),
  };
};

interface BenchServer {
  listener: RequestListener;
  /** Streams that would receive a broadcast now. */
  subscribers(): number;
  broadcast(seq: number): void;
}

function rawServer(): BenchServer {
  const streams = new Set<ServerResponse>();
  return {
    listener(_req, res) {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.flushHeaders();
      streams.add(res);
      res.once('close', () => streams.delete(res));
    },
    subscribers: () => streams.size,
    broadcast(seq) {
      const chunk = Buffer.from(`id: ${seq}\ndata: ${JSON.stringify(payload(seq))}\n\n`);
      for (const res of streams) res.write(chunk);
    },
  };
}

function betterSseServer(): BenchServer {
  const channel = createChannel();
  return {
    async listener(req, res) {
      channel.register(await createSession(req, res));
    },
    subscribers: () => channel.sessionCount,
    broadcast(seq) {
      channel.broadcast(payload(seq), 'message', { eventId: String(seq) });
    },
  };
}

function honoServer(): BenchServer {
  const streams = new Set<SSEStreamingApi>();
  const app = new Hono();
  app.get('/events', (c) =>
    streamSSE(c, async (stream) => {
      streams.add(stream);
      await new Promise<void>((resolve) => stream.onAbort(resolve));
      streams.delete(stream);
    }),
  );
  const report = (error: unknown) => console.error('hono writeSSE failed:', error);
  return {
    listener: getRequestListener(app.fetch),
    subscribers: () => streams.size,
    broadcast(seq) {
      const message = { data: JSON.stringify(payload(seq)), id: String(seq) };
      for (const stream of streams) stream.writeSSE(message).catch(report);
    },
  };
}

// Open ssekit subscriptions: counted when `hub.subscribe` has registered one, uncounted when its
// response closes. The close listener is one shared function, not a closure per connection.
let subscriptions = 0;
function subscriptionClosed(): void {
  subscriptions--;
}

async function ssekitServer(redisUrl?: string): Promise<BenchServer> {
  const { createHub, createMemoryEngine, createRedisEngine, toNodeHandler } = await ssekit();
  const engine = redisUrl
    ? createRedisEngine({ redis: new Redis(redisUrl, { maxRetriesPerRequest: 3 }) })
    : createMemoryEngine();
  const onError = (error: unknown) => console.error('ssekit:', error);
  const hub = createHub({ engine, onError });
  return {
    listener: toNodeHandler(
      async (request, { res }) => {
        const response = await hub.subscribe(request, TOPIC);
        subscriptions++;
        res.on('close', subscriptionClosed);
        return response;
      },
      { onError },
    ),
    subscribers: () => subscriptions,
    broadcast(seq) {
      hub.publish(TOPIC, { data: payload(seq) }).catch(onError);
    },
  };
}

const bench =
  kind === 'raw'
    ? rawServer()
    : kind === 'better-sse'
      ? betterSseServer()
      : kind === 'hono'
        ? honoServer()
        : kind === 'ssekit'
          ? await ssekitServer()
          : kind === 'ssekit-redis' && redisUrl
            ? await ssekitServer(redisUrl)
            : undefined;
if (!bench) throw new Error(`unknown server kind ${kind} (ssekit-redis needs a Redis URL)`);

const server = createServer(bench.listener);

serveCalls({
  async listen() {
    // The backlog of 4096 (the usual somaxconn) takes the clients' bursts of connects.
    await new Promise<void>((resolve) =>
      server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, resolve),
    );
    return (server.address() as AddressInfo).port;
  },

  subscribers: () => bench.subscribers(),

  /** Heap and RSS after full collections, once the last requests' garbage has settled. */
  async memory() {
    const gc = globalThis.gc;
    if (!gc) throw new Error('the server needs --expose-gc');
    for (let round = 0; round < 3; round++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      gc();
    }
    const { heapUsed, rss, external, arrayBuffers } = process.memoryUsage();
    return { heapUsed, rss, external, arrayBuffers };
  },

  ...broadcastCalls((seq) => bench.broadcast(seq), nowUs),
});
