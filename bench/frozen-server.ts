/**
 * The server process of the frozen-client measurement (bench/frozen.ts, and the soak's `frozen`
 * scenario): a node:http server through the ssekit Node adapter, in a process of its own so that
 * its event loop is measured apart from the clients'. Its settings come as JSON in the
 * `FROZEN_SERVER` environment variable (see {@link ServerSettings}). Talks to its parent over IPC:
 * sends `{ port }` when listening, and answers every message with its {@link ServerStats}
 * (`'reset'` also starts the loop-delay and fan-out figures afresh).
 *
 * Routes (`?kind=frozen|healthy` only sorts the figures; both are served alike):
 * - `/topic`: a subscription to the hub topic `feed`, on which the server publishes one event of
 *   `eventBytes` every `publishMs` (its data starts with the publish time, for the clients'
 *   per-event latency);
 * - `/burst`: a producer of its own that does not await (16 KiB events, a yield every 8: the shape
 *   that fills a frozen client's queue fastest);
 * - `/paced`: a producer that awaits each 1 KiB event (its data starts with the time it was sent)
 *   and sleeps 20 ms.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { toNodeHandler } from '../src/adapters/node.ts';
import { createHub } from '../src/hub/index.ts';
import { createEventStream, type EventStreamOptions } from '../src/server/index.ts';

/** What the parent sets. Stream options left out take the library's defaults. */
export interface ServerSettings {
  publishMs: number;
  eventBytes: number;
  writeTimeoutMs?: number;
  maxBufferedBytes?: number;
  highWaterMark?: number;
}

/** What the server answers over IPC. */
export interface ServerStats {
  /** Per kind: requests served, clients dropped as slow consumers, ms from request to drop. */
  kinds: Record<
    string,
    {
      served: number;
      dropped: number;
      dropMs: number[];
      reasons: string[];
      /** From the client's connect to the handler, ms. */
      arrivalMs: number[];
      /** From the server's accept (`connection`) to the handler, ms. */
      acceptedMs: number[];
    }
  >;
  /** Event-loop delay since the last reset, ms: p50, p99, max. */
  loopDelay: [number, number, number];
  /** Time spent in one `hub.publish` (the synchronous fan-out to every subscriber), ms. */
  fanOut: [number, number, number];
  /** Bytes written to sockets since the start. */
  peakRss: number;
  /** The machine's TCP memory (every socket's kernel buffers), at its peak since the reset. */
  peakTcpMemory: number;
  /** CPU time of this process since the reset, ms. */
  cpuMs: number;
  /** Event-loop utilization since the reset (0: idle, 1: never waiting for I/O). */
  utilization: number;
}

const settings = JSON.parse(process.env.FROZEN_SERVER ?? '{}') as ServerSettings;
const BIG = { data: 'x'.repeat(16 * 1024 - 8) };
const SMALL = 'x'.repeat(1000);
const kinds: ServerStats['kinds'] = {};
const kindOf = (name: string) =>
  (kinds[name] ??= {
    served: 0,
    dropped: 0,
    dropMs: [],
    reasons: [],
    arrivalMs: [],
    acceptedMs: [],
  });

function streamOptions(kind: string, started: number): EventStreamOptions {
  const figures = kindOf(kind);
  figures.served++;
  return {
    onError: (error) => {
      figures.dropped++;
      figures.dropMs.push(performance.now() - started);
      const message = String((error as Error).message);
      figures.reasons.push(
        /read nothing/.test(message)
          ? 'writeTimeoutMs'
          : /maxBufferedBytes/.test(message)
            ? 'maxBufferedBytes'
            : /stalled|took nothing/.test(message)
              ? 'socket stalled'
              : message.slice(0, 80),
      );
    },
    ...(settings.writeTimeoutMs ? { writeTimeoutMs: settings.writeTimeoutMs } : {}),
    ...(settings.maxBufferedBytes ? { maxBufferedBytes: settings.maxBufferedBytes } : {}),
    ...(settings.highWaterMark ? { highWaterMark: settings.highWaterMark } : {}),
  };
}

const hub = createHub({ onError: () => {} });
const server = createServer(
  toNodeHandler(async (request, context) => {
    const started = performance.now();
    const url = new URL(request.url);
    const kind = url.searchParams.get('kind') ?? 'healthy';
    const options = streamOptions(kind, started);
    // The client's connect time (absolute ms): how long its request took to reach the handler.
    const sent = Number(url.searchParams.get('t'));
    if (sent > 0) kindOf(kind).arrivalMs.push(performance.timeOrigin + started - sent);
    const accepted = accepts.get(context.req.socket);
    if (accepted !== undefined) kindOf(kind).acceptedMs.push(started - accepted);
    if (url.pathname === '/topic') return hub.subscribe(request, 'feed', options);
    if (url.pathname === '/paced') {
      return createEventStream(
        request,
        async (stream) => {
          while (!stream.signal.aborted) {
            await stream.send({ data: `${performance.timeOrigin + performance.now()} ${SMALL}` });
            await new Promise((resolve) => setTimeout(resolve, 20));
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
const accepts = new WeakMap<object, number>();
server.on('connection', (socket) => accepts.set(socket, performance.now()));
server.listen(0, '127.0.0.1', 511, () => {
  process.send?.({ port: (server.address() as AddressInfo).port });
});

const padding = 'x'.repeat(Math.max(0, settings.eventBytes - 40));
let fanOut: number[] = [];
setInterval(() => {
  const started = performance.now();
  void hub.publish('feed', { data: `${performance.timeOrigin + started} ${padding}` });
  fanOut.push(performance.now() - started);
}, settings.publishMs || 10);

const loop = monitorEventLoopDelay({ resolution: 5 });
loop.enable();
let peakRss = 0;
let peakTcpMemory = 0;
let cpu = process.cpuUsage();
let elu = performance.eventLoopUtilization();
setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
  peakTcpMemory = Math.max(peakTcpMemory, tcpMemory());
}, 50).unref();

/** The kernel's TCP memory in bytes (Linux: pages in /proc/net/sockstat), 0 elsewhere. */
function tcpMemory(): number {
  try {
    const match = /TCP:.* mem (\d+)/.exec(readFileSync('/proc/net/sockstat', 'latin1'));
    return match ? Number(match[1]) * 4096 : 0;
  } catch {
    return 0;
  }
}

const percentiles = (values: number[]): [number, number, number] => {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
  return [at(0.5), at(0.99), sorted[sorted.length - 1] ?? 0];
};

process.on('message', (message) => {
  const stats: ServerStats = {
    kinds,
    loopDelay: [
      loop.percentile(50) / 1e6,
      loop.percentile(99) / 1e6,
      loop.count > 0 ? loop.max / 1e6 : 0,
    ],
    fanOut: percentiles(fanOut),
    peakRss,
    peakTcpMemory,
    utilization: performance.eventLoopUtilization(elu).utilization,
    cpuMs: (() => {
      const used = process.cpuUsage(cpu);
      return (used.user + used.system) / 1000;
    })(),
  };
  process.send?.(stats);
  if (message === 'reset') {
    loop.reset();
    fanOut = [];
    peakTcpMemory = 0;
    for (const figures of Object.values(kinds)) {
      figures.arrivalMs = [];
      figures.acceptedMs = [];
    }
    cpu = process.cpuUsage();
    elu = performance.eventLoopUtilization();
  }
});
process.on('disconnect', () => process.exit(0));
