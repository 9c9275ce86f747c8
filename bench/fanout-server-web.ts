/**
 * One fan-out server per process on Bun or Deno, through the runtime's own Web server:
 * `bun bench/fanout-server-web.ts <kind> <ssekit-base> <ext>` or
 * `deno run -A --v8-flags=--expose-gc bench/fanout-server-web.ts <kind> <ssekit-base> <ext>`,
 * driven by the parent (bench/fanout.ts, BENCH_FANOUT_RUNTIMES) with the same calls as
 * bench/fanout-server.ts: both runtimes answer Node's fork IPC (an `ipc` stdio, JSON messages;
 * Deno through its Node compatibility), so `serveCalls` of bench/fanout-ipc.ts serves them as is.
 *
 * Every kind serves GET /events on 127.0.0.1 (`Bun.serve` / `Deno.serve`) and broadcasts the ~100
 * byte JSON event of bench/fanout-shared.ts to every open stream on `broadcast`:
 *
 * - raw: the runtime's own ceiling: a `Response` over a `ReadableStream` per connection, the event
 *   encoded once into one Uint8Array and `controller.enqueue`d to every stream
 * - ssekit: `hub.subscribe(request, TOPIC)` returned as it is from the fetch handler, `hub.publish`
 *   (memory engine), ssekit imported from `<ssekit-base>` as in bench/fanout-server.ts
 *
 * Times: `process.hrtime` of Bun and Deno counts from the process's start, not CLOCK_MONOTONIC as
 * Node's does, so the times this server sends to the parent (to be subtracted from the Node
 * client's) come from `clock_gettime(CLOCK_MONOTONIC)` of libc through the runtime's FFI (Linux).
 *
 * Memory: heap and RSS after full collections. Bun: `Bun.gc(true)`, and `process.memoryUsage()`,
 * whose heapUsed is JavaScriptCore's heap size (it counts the memory that native objects such as
 * ArrayBuffers report, which V8's heapUsed leaves out); Deno: `gc()` (`--expose-gc`) and
 * `Deno.memoryUsage()` (V8's, as on Node).
 */
import { serveCalls } from './fanout-ipc.ts';
import { broadcastCalls, payload, TOPIC } from './fanout-shared.ts';

// The little of Bun's and Deno's globals used here (no @types packages for them).
interface MemoryUsage {
  heapUsed: number;
  rss: number;
  external?: number;
  arrayBuffers?: number;
}
declare const Bun:
  | {
      version: string;
      gc(force: boolean): void;
      serve(options: {
        hostname: string;
        port: number;
        /** Seconds a connection may stay silent: 0 turns Bun's default 10 s off (idle streams). */
        idleTimeout: number;
        fetch(request: Request): Response | Promise<Response>;
      }): { port: number };
    }
  | undefined;
declare const Deno:
  | {
      version: { deno: string };
      memoryUsage(): MemoryUsage;
      serve(
        options: { hostname: string; port: number; onListen(address: { port: number }): void },
        handler: (request: Request) => Response | Promise<Response>,
      ): { addr: { port: number } };
      dlopen(
        path: string,
        symbols: { clock_gettime: { parameters: ['i32', 'buffer']; result: 'i32' } },
      ): { symbols: { clock_gettime(clock: number, timespec: BigInt64Array): number } };
    }
  | undefined;

const runtime = typeof Bun !== 'undefined' ? 'bun' : typeof Deno !== 'undefined' ? 'deno' : '';
if (!runtime) throw new Error('bench/fanout-server-web.ts runs on Bun or Deno, not Node');

const [kind, ssekitBase, ext] = process.argv.slice(2) as [string, string, string];

/** CLOCK_MONOTONIC of Linux (clockid 1), in microseconds: what `nowUs()` of Node processes reads. */
async function monotonicClock(): Promise<() => number> {
  const CLOCK_MONOTONIC = 1;
  const timespec = new BigInt64Array(2);
  let clockGettime: (clock: number, timespec: BigInt64Array) => number;
  if (runtime === 'bun') {
    // A specifier in a variable: tsc (Node types) does not know `bun:ffi`.
    const specifier = 'bun:ffi';
    const ffi = (await import(specifier)) as {
      dlopen(
        path: string,
        symbols: { clock_gettime: { args: string[]; returns: string } },
      ): { symbols: { clock_gettime(clock: number, timespec: BigInt64Array): number } };
    };
    clockGettime = ffi.dlopen('libc.so.6', {
      clock_gettime: { args: ['i32', 'ptr'], returns: 'i32' },
    }).symbols.clock_gettime;
  } else {
    clockGettime = Deno!.dlopen('libc.so.6', {
      clock_gettime: { parameters: ['i32', 'buffer'], result: 'i32' },
    }).symbols.clock_gettime;
  }
  return () => {
    if (clockGettime(CLOCK_MONOTONIC, timespec) !== 0) throw new Error('clock_gettime failed');
    return Number(timespec[0]!) * 1e6 + Math.floor(Number(timespec[1]!) / 1000);
  };
}

const nowUs = await monotonicClock();

interface BenchServer {
  fetch(request: Request): Response | Promise<Response>;
  /** Streams that would receive a broadcast now. */
  subscribers(): number;
  broadcast(seq: number): void;
}

const HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' };

/** A stream's controller, dropped from `streams` once the client has gone. */
class RawStream {
  controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  constructor(readonly streams: Set<RawStream>) {}
  start(controller: ReadableStreamDefaultController<Uint8Array>): void {
    this.controller = controller;
    this.streams.add(this);
  }
  cancel(): void {
    this.streams.delete(this);
  }
}

function rawServer(): BenchServer {
  const streams = new Set<RawStream>();
  const encoder = new TextEncoder();
  return {
    fetch(request) {
      const source = new RawStream(streams);
      const body = new ReadableStream<Uint8Array>(source);
      // Both: the body's cancel when the runtime drops the response, the signal when the
      // connection closes (whichever the runtime does first).
      request.signal.addEventListener('abort', () => source.cancel(), { once: true });
      return new Response(body, { status: 200, headers: HEADERS });
    },
    subscribers: () => streams.size,
    broadcast(seq) {
      const bytes = encoder.encode(`id: ${seq}\ndata: ${JSON.stringify(payload(seq))}\n\n`);
      for (const stream of streams) stream.controller!.enqueue(bytes);
    },
  };
}

// Open ssekit subscriptions: counted when `hub.subscribe` has registered one, uncounted when its
// request's signal aborts (the client left). One shared listener, not a closure per connection.
let subscriptions = 0;
function subscriptionClosed(): void {
  subscriptions--;
}

async function ssekitServer(): Promise<BenchServer> {
  const { createHub, createMemoryEngine } = (await import(
    new URL(`hub/index${ext}`, ssekitBase).href
  )) as typeof import('../src/hub/index.ts');
  const onError = (error: unknown) => console.error('ssekit:', error);
  const hub = createHub({ engine: createMemoryEngine(), onError });
  return {
    async fetch(request) {
      const response = await hub.subscribe(request, TOPIC);
      subscriptions++;
      request.signal.addEventListener('abort', subscriptionClosed, { once: true });
      return response;
    },
    subscribers: () => subscriptions,
    broadcast(seq) {
      hub.publish(TOPIC, { data: payload(seq) }).catch(onError);
    },
  };
}

const bench = kind === 'raw' ? rawServer() : kind === 'ssekit' ? await ssekitServer() : undefined;
if (!bench) throw new Error(`unknown server kind ${kind} on ${runtime} (raw or ssekit)`);

function listen(): number {
  const notFound = () => new Response('not found', { status: 404 });
  const fetch = (request: Request) =>
    new URL(request.url).pathname === '/events' ? bench!.fetch(request) : notFound();
  if (runtime === 'bun')
    return Bun!.serve({ hostname: '127.0.0.1', port: 0, idleTimeout: 0, fetch }).port;
  return Deno!.serve({ hostname: '127.0.0.1', port: 0, onListen() {} }, fetch).addr.port;
}

function collectGarbage(): void {
  if (runtime === 'bun') Bun!.gc(true);
  else {
    const gc = (globalThis as { gc?: () => void }).gc;
    if (!gc) throw new Error('the Deno server needs --v8-flags=--expose-gc');
    gc();
  }
}

serveCalls({
  listen,

  subscribers: () => bench.subscribers(),

  /** Heap and RSS after full collections, once the last requests' garbage has settled. */
  async memory() {
    for (let round = 0; round < 3; round++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      collectGarbage();
    }
    const { heapUsed, rss, external, arrayBuffers } =
      runtime === 'bun' ? process.memoryUsage() : Deno!.memoryUsage();
    return { heapUsed, rss, external, arrayBuffers };
  },

  ...broadcastCalls((seq) => bench.broadcast(seq), nowUs),

  version: () => (runtime === 'bun' ? `bun ${Bun!.version}` : `deno ${Deno!.version.deno}`),
});
