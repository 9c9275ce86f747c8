/**
 * `npm run soak`: the library tried as a hostile world would, on loopback only, bounded in time
 * (about a minute; SOAK_SCALE=0.2 for a quick pass), printing its figures. Scenarios (pass names to
 * run some: `npm run soak -- churn redis`):
 *
 * - churn: connections dropped before the response, after the headers, mid-stream and by reset;
 *   every producer's `finally` must run and its signal abort, nothing stays open, no unhandled
 *   rejection, the heap comes back.
 * - frozen: clients that send a request and never read, while healthy clients connect: how late
 *   the healthy clients' first events are and why (bench/frozen.ts), how many frozen ones are
 *   dropped and when, the server's RSS and the kernel's TCP memory.
 * - bodies: hostile bodies (deep nesting, `__proto__`, bad UTF-8, wrong types, a 1 GB
 *   content-length, 50 MB streamed uploads): every one answered with its 4xx, 413s never lost.
 * - injection: event names and ids with line breaks into `run.send` and `hub.publish`, malformed
 *   run ids, event ids and topics into every hub endpoint: refused at once, never a 500.
 * - lines: a server sending a line that never ends (up to 1 GiB): the client must stop with
 *   `event-too-large` after reading a bounded amount.
 * - redis: the hub on Redis through a TCP proxy that cuts every connection every 40 ms (events
 *   lost and duplicated, producer failures), and a producer whose lease lapses (time until every
 *   reader hears `producer-lost`).
 * - slow: sockets that send their headers a byte at a time (slowloris) while a client pings.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { toNodeHandler } from '../src/adapters/node.ts';
import { fetchEventStream } from '../src/client/index.ts';
import { createHub, createMemoryEngine, type HubEngine } from '../src/hub/index.ts';
import { createRedisEngine } from '../src/hub/redis.ts';
import { SsekitError } from '../src/index.ts';
import { createEventStream, eventStreamHandler } from '../src/server/index.ts';
import { startRedis } from '../test/helpers/redis.ts';
import { startTcpProxy } from '../test/helpers/tcp-proxy.ts';
import { frozenRows, measureFrozen } from './frozen.ts';

const SCALE = Number(process.env.SOAK_SCALE ?? 1);
const scaled = (count: number) => Math.max(1, Math.round(count * SCALE));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const figures: Array<[string, string, string]> = [];
const report = (scenario: string, figure: string, value: unknown) => {
  figures.push([scenario, figure, String(value)]);
  console.log(`  ${scenario.padEnd(13)} ${figure.padEnd(56)} ${String(value)}`);
};
const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? Number.NaN;
};
const mib = (bytes: number) => `${(bytes / 1_048_576).toFixed(1)} MiB`;
const gc = () => (globalThis as { gc?: () => void }).gc?.();

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => unknown) {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function socketTo(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true }, () => resolve(socket));
    socket.once('error', reject);
  });
}

async function churn(): Promise<void> {
  let started = 0;
  let finished = 0;
  let aborted = 0;
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => rejections.push(reason);
  process.on('unhandledRejection', onRejection);
  const server = await listen(
    toNodeHandler((request) =>
      createEventStream(
        request,
        async (stream) => {
          started++;
          stream.signal.addEventListener('abort', () => void aborted++);
          try {
            for (let index = 0; !stream.signal.aborted; index++) {
              await stream.send({ data: `event ${index}` });
              await sleep(5);
            }
          } finally {
            finished++;
          }
        },
        { onError: () => {}, heartbeatMs: 50 },
      ),
    ),
  );
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const modes = ['before-response', 'after-headers', 'mid-stream', 'reset'] as const;
  const total = scaled(5000);
  let next = 0;
  const request = 'GET /events HTTP/1.1\r\nhost: soak\r\n\r\n';
  const one = async (mode: (typeof modes)[number]) => {
    const socket = await socketTo(server.port);
    socket.on('error', () => {});
    if (mode === 'before-response') {
      socket.write(request.slice(0, 20)); // the request never completes
      await sleep(1);
      socket.destroy();
      return;
    }
    socket.write(request);
    const needle = mode === 'after-headers' ? '\r\n\r\n' : 'data: event 2';
    await new Promise<void>((resolve) => {
      let text = '';
      const onData = (chunk: Buffer) => {
        text += chunk.toString('latin1');
        if (text.includes(needle)) {
          socket.off('data', onData);
          resolve();
        }
      };
      socket.on('data', onData);
      socket.once('close', () => resolve());
    });
    if (mode === 'reset') socket.resetAndDestroy();
    else socket.destroy();
  };
  const started0 = performance.now();
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      while (next < total) await one(modes[next++ % modes.length]!);
    }),
  );
  for (let wait = 0; wait < 200 && finished < started; wait++) await sleep(10);
  await sleep(100);
  gc();
  const heapAfter = process.memoryUsage().heapUsed;
  await server.close();
  process.off('unhandledRejection', onRejection);
  report('churn', 'connections churned (4 ways, 50 at a time)', total);
  report(
    'churn',
    'producers started / finally run / signal aborted',
    `${started} / ${finished} / ${aborted}`,
  );
  report('churn', 'producers still open', started - finished);
  report('churn', 'unhandled rejections', rejections.length);
  report('churn', 'heap after vs before (after GC)', mib(heapAfter - heapBefore));
  report('churn', 'time', `${Math.round(performance.now() - started0)} ms`);
}

async function frozen(): Promise<void> {
  // Both shapes: per-stream producers that do not await (the shape that fills a frozen client's
  // queue fastest), and a hub topic with steady publishing (the fan-out).
  const shapes = [
    { mode: 'burst', publishMs: 10, eventBytes: 1024 },
    { mode: 'topic', publishMs: 10, eventBytes: 16_384, writeTimeoutMs: 2_000 },
  ] as const;
  for (const shape of shapes) {
    const measured = await measureFrozen({
      ...shape,
      frozen: scaled(200),
      healthy: 20,
      stormMs: 3_000,
      waitMs: 30_000,
    });
    for (const [figure, value] of frozenRows(measured))
      report(`frozen ${shape.mode}`, figure, value);
  }
}

async function bodies(): Promise<void> {
  const server = await listen(
    toNodeHandler(
      eventStreamHandler({ onError: () => {}, maxBodyBytes: 1_048_576 }, async (stream, body) => {
        await stream.send({ data: body });
      }),
    ),
  );
  const post = async (body: BodyInit, headers: Record<string, string> = {}, extra = {}) => {
    try {
      const response = await fetch(`${server.url}/api`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
        ...extra,
      } as RequestInit);
      await response.arrayBuffer();
      return String(response.status);
    } catch (error) {
      return `failed (${(error as { cause?: { code?: string } }).cause?.code ?? error})`;
    }
  };
  const deep = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
  const cases: Array<[string, () => Promise<string>, string]> = [
    ['100 000-deep nesting', () => post(deep(100_000)), '400'],
    [
      '__proto__ and constructor keys',
      () => post('{"__proto__":{"x":1},"constructor":{"prototype":{"x":1}}}'),
      '200',
    ],
    ['invalid UTF-8', () => post(new Uint8Array([0x22, 0xff, 0x22])), '400'],
    ['not JSON', () => post('{"a":'), '400'],
    ['text/plain', () => post('{}', { 'content-type': 'text/plain' }), '415'],
    ['content-length of 1 GB, no body sent', () => rawLength(server.port), '413'],
  ];
  for (const [name, run, expected] of cases) {
    const status = await run();
    report('bodies', `${name}: status (expected ${expected})`, status);
  }
  report('bodies', 'Object.prototype polluted', 'x' in Object.prototype);
  const tries = scaled(20);
  let received = 0;
  const outcomes = new Map<string, number>();
  for (let index = 0; index < tries; index++) {
    const status = await post(pacedUpload(50 * 1_048_576), {}, { duplex: 'half' });
    outcomes.set(status, (outcomes.get(status) ?? 0) + 1);
    if (status === '413') received++;
  }
  report(
    'bodies',
    '50 MB streamed uploads that read their 413',
    `${received} of ${tries} ${JSON.stringify(Object.fromEntries(outcomes))}`,
  );
  await server.close();
}

function pacedUpload(size: number): ReadableStream<Uint8Array> {
  const chunk = new Uint8Array(1_048_576).fill(0x20);
  let sent = 0;
  return new ReadableStream({
    async pull(controller) {
      if (sent >= size) return controller.close();
      await sleep(5);
      controller.enqueue(chunk);
      sent += chunk.byteLength;
    },
  });
}

async function rawLength(port: number): Promise<string> {
  const socket = await socketTo(port);
  socket.write(
    'POST /api HTTP/1.1\r\nhost: soak\r\ncontent-type: application/json\r\ncontent-length: 1000000000\r\n\r\n{',
  );
  const text = await new Promise<string>((resolve) => {
    let received = '';
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (received.includes('\r\n\r\n')) resolve(received);
    });
    socket.once('close', () => resolve(received));
  });
  socket.destroy();
  return text.split(' ')[1] ?? 'none';
}

async function injection(): Promise<void> {
  const hub = createHub({ onError: () => {} });
  const names = ['ok\nevent: forged', 'ok\r\ndata: x', 'x\r'];
  let refusedSend = 0;
  let refusedPublish = 0;
  const response = await hub.stream(
    new Request('http://soak/run', { method: 'POST' }),
    async (run) => {
      for (const name of names) {
        try {
          void run.send({ event: name, data: 'x' });
        } catch {
          refusedSend++;
        }
      }
      await run.send({ data: 'clean' });
    },
  );
  const text = await response.text();
  for (const name of names) {
    try {
      void hub.publish('topic', { event: name, data: 'x' });
    } catch {
      refusedPublish++;
    }
  }
  report(
    'injection',
    'poisoned names refused by run.send / hub.publish',
    `${refusedSend} / ${refusedPublish} of ${names.length}`,
  );
  report('injection', 'the run still ended with done', text.includes('event: done'));
  const runId = response.headers.get('ssekit-run-id')!;
  const tally = () => {
    const statuses = new Map<number, number>();
    return {
      add: (status: number) => statuses.set(status, (statuses.get(status) ?? 0) + 1),
      toString: () => JSON.stringify(Object.fromEntries(statuses)),
    };
  };
  const cancels = tally();
  const resumes = tally();
  const subscribes = tally();
  const badIds = [
    `${runId}:log`,
    '../x',
    '',
    'A'.repeat(5000),
    `${runId}%0d%0ax`,
    'AAAAAAAAAAAAAAAAAAAAAA',
  ];
  for (const id of badIds) {
    const url = `http://soak/cancel?runId=${encodeURIComponent(id)}`;
    cancels.add((await hub.handleCancel(new Request(url, { method: 'POST' }))).status);
    const headers = { 'last-event-id': `${id}.1` };
    const resume = new Request('http://soak/run', { method: 'POST', headers });
    resumes.add((await hub.stream(resume, async () => {})).status);
  }
  for (const topic of ['', 'a\nb', 'x'.repeat(300), 'nul\u0000', '\ud800']) {
    subscribes.add((await hub.subscribe(new Request('http://soak/t'), topic)).status);
  }
  const lastEventIds = ['x', `${runId}.1`, '1-2-3', '1-1\u0000'];
  for (const id of lastEventIds) {
    const request = new Request(`http://soak/t?lastEventId=${encodeURIComponent(id)}`);
    subscribes.add((await hub.subscribe(request, 'news')).status);
  }
  report('injection', `cancel: ${badIds.length} malformed or unknown run ids`, cancels);
  report('injection', `resume: ${badIds.length} malformed or unknown Last-Event-IDs`, resumes);
  report('injection', `subscribe: 5 bad topics, 4 bad Last-Event-IDs`, subscribes);
  await hub.close();
}

async function lines(): Promise<void> {
  let written = 0;
  const limit = 1024 * 1_048_576;
  const server = await listen((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: ');
    const chunk = Buffer.alloc(1_048_576, 0x61);
    const pump = () => {
      while (written < limit && !res.destroyed) {
        written += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  });
  gc();
  const rssBefore = process.memoryUsage().rss;
  let peak = rssBefore;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 5);
  const error = await fetchEventStream(server.url, { retry: false }).finished.catch(
    (e: unknown) => e,
  );
  clearInterval(sampler);
  report(
    'lines',
    'client outcome on a line of up to 1 GiB',
    SsekitError.isInstance(error) ? error.code : String(error),
  );
  report('lines', 'bytes the server wrote before the client stopped', mib(written));
  report('lines', 'client RSS growth at peak', mib(peak - rssBefore));
  await server.close();
}

async function redisFaults(): Promise<void> {
  const redis = await startRedis({ own: true });
  const proxy = await startTcpProxy(Number(new URL(redis.url).port));
  const client = new Redis(proxy.port, '127.0.0.1', {
    retryStrategy: (times) => Math.min(times * 5, 50),
  });
  client.on('error', () => {});
  try {
    const engine = createRedisEngine({
      redis: client,
      prefix: `soak:${Date.now()}:`,
      blockMs: 200,
      retryDelayMs: 10,
    });
    const hub = createHub({ engine, onError: () => {} });
    const count = scaled(2000);
    let producerFailed: unknown;
    const fetchRun = async (input: string | URL | Request, init?: RequestInit) =>
      hub.stream(new Request(input, init), async (run) => {
        try {
          for (let index = 1; index <= count; index++) {
            await run.send({ data: String(index) });
            if (index % 50 === 0) await sleep(1);
          }
        } catch (error) {
          producerFailed = error;
          throw error;
        }
      });
    proxy.cutEvery(40);
    const cutsBefore = proxy.cuts;
    const seen = new Map<string, number>();
    const started = performance.now();
    const error = await (async () => {
      for await (const event of fetchEventStream('http://soak/run', {
        fetch: fetchRun,
        method: 'POST',
        retry: { initialDelayMs: 5, maxDelayMs: 20, maxAttempts: 1000 },
      }))
        seen.set(event.data, (seen.get(event.data) ?? 0) + 1);
    })().catch((e: unknown) => e);
    proxy.cutEvery(0);
    let lost = 0;
    for (let index = 1; index <= count; index++) if (!seen.has(String(index))) lost++;
    const duplicated = [...seen.values()].filter((times) => times > 1).length;
    report(
      'redis',
      `run of ${count} events, Redis cut every 40 ms: connections cut`,
      proxy.cuts - cutsBefore,
    );
    report(
      'redis',
      'events lost / duplicated / producer failed',
      `${lost} / ${duplicated} / ${producerFailed !== undefined}`,
    );
    report(
      'redis',
      'reader outcome, time',
      `${error === undefined ? 'done' : String(error)}, ${Math.round(performance.now() - started)} ms`,
    );
    await hub.close();
    await engine.close();
  } finally {
    client.disconnect();
    await proxy.close();
    await redis.stop();
  }
  // A producer whose instance stops renewing its lease: how long until its reader hears of it.
  const shared = createMemoryEngine();
  let dead = false;
  const mortal: HubEngine = {
    ...shared,
    setValue: (key, value, ttlMs) =>
      dead && key.startsWith('lease:') ? Promise.resolve() : shared.setValue(key, value, ttlMs),
  };
  const lease = { producerLeaseMs: 1_000, leaseRenewMs: 200 };
  const hubA = createHub({ engine: mortal, ...lease, onError: () => {} });
  let diedAt = 0;
  const stream = fetchEventStream('http://soak/run', {
    method: 'POST',
    fetch: async (input, init) =>
      hubA.stream(new Request(input, init), async (run) => {
        for (let index = 1; index <= 10; index++) await run.send({ data: String(index) });
        diedAt = performance.now();
        dead = true;
        await new Promise(() => {});
      }),
  });
  const keepAlive = setInterval(() => {}, 1_000); // the hub's timers do not hold a process open
  const error = await stream.finished.catch((e: unknown) => e);
  clearInterval(keepAlive);
  report(
    'redis',
    `lease ${lease.producerLeaseMs} ms lapsed: reader ended with`,
    `${SsekitError.isInstance(error) ? ((error as { data?: { code?: string } }).data?.code ?? error.code) : String(error)} after ${Math.round(performance.now() - diedAt)} ms`,
  );
  await hubA.close();
  await shared.close();
}

async function slow(): Promise<void> {
  const server = await listen(
    toNodeHandler((request) =>
      createEventStream(request, [{ data: 'pong' }], { onError: () => {} }),
    ),
  );
  const count = scaled(200);
  const sockets: Socket[] = [];
  const request = 'GET /slow HTTP/1.1\r\nhost: soak\r\nx-padding: slowloris\r\n\r\n';
  for (let index = 0; index < count; index++) {
    const socket = await socketTo(server.port);
    socket.on('error', () => {});
    sockets.push(socket);
  }
  let position = 0;
  const drip = setInterval(() => {
    const byte = request[position % (request.length - 4)]!; // never the final blank line
    position++;
    for (const socket of sockets) if (!socket.destroyed) socket.write(byte);
  }, 50);
  const pings: number[] = [];
  const until = performance.now() + 5_000 * SCALE;
  while (performance.now() < until) {
    const started = performance.now();
    const response = await fetch(server.url);
    await response.text();
    pings.push(performance.now() - started);
    await sleep(20);
  }
  clearInterval(drip);
  const open = sockets.filter((socket) => !socket.destroyed).length;
  for (const socket of sockets) socket.destroy();
  report(
    'slow',
    `${count} slowloris sockets: pings p50 / p99`,
    `${percentile(pings, 50).toFixed(1)} / ${percentile(pings, 99).toFixed(1)} ms (${pings.length} pings)`,
  );
  report('slow', 'slowloris sockets still open after the run', open);
  await server.close();
}

const scenarios: Record<string, () => Promise<void>> = {
  churn,
  frozen,
  bodies,
  injection,
  lines,
  redis: redisFaults,
  slow,
};
const chosen = process.argv.slice(2).filter((name) => name in scenarios);
const started = performance.now();
for (const name of chosen.length > 0 ? chosen : Object.keys(scenarios)) {
  console.log(`${name}:`);
  await scenarios[name]!();
}
console.log(`soak finished in ${((performance.now() - started) / 1000).toFixed(1)} s`);
process.exit(0);
