/**
 * `npm run bench:frozen`: what frozen clients (they open a stream and never read) cost the healthy
 * ones, on loopback, with the server in a process of its own (bench/frozen-server.ts).
 *
 * 1. `healthy` clients subscribe to a topic on which the server publishes steadily, and read.
 * 2. Alone: new healthy clients connect one every 100 ms; each one's first-event latency (from
 *    connect to its first event) is taken.
 * 3. Storm: `frozen` clients connect at once and never read, while new healthy clients go on
 *    connecting every 50 ms; then until every frozen client is dropped (or `waitMs` passes).
 *
 * Printed: healthy clients' first-event latency (connect to first event) and per-event latency
 * (publish to receipt) alone and in the storm, p50 / p99 / max; the server's event-loop delay and
 * the time of one publish's fan-out; how many frozen clients were dropped, after how long and why;
 * peak RSS and the machine's TCP memory (the kernel buffers the frozen sockets hold).
 *
 * `--spread` connects the frozen clients evenly over the storm instead of all at once.
 *
 * `npm run bench:frozen -- --frozen 200 --healthy 20 --mode topic|burst --publish-ms 10
 * --event-bytes 1024 --write-timeout-ms 2000 --max-buffered-bytes 262144`
 *
 * What a frozen socket takes before it stops taking data is the kernel's: to measure with a
 * bounded unsent buffer without touching the machine's settings, run it (as root, Linux) in a
 * network namespace of its own:
 * `unshare -n sh -c 'ip link set lo up && sysctl -qw net.ipv4.tcp_notsent_lowat=131072 &&
 * npm run bench:frozen -- --mode burst'`
 */
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { parseArgs } from 'node:util';
import type { ServerSettings, ServerStats } from './frozen-server.ts';

export interface FrozenSettings extends ServerSettings {
  /** `topic`: hub topic subscriptions. `burst`: a producer per stream that does not await. */
  mode: 'topic' | 'burst';
  frozen: number;
  healthy: number;
  /** How long healthy clients go on connecting after the frozen ones did, ms. */
  stormMs: number;
  /** Frozen clients connect spread evenly over `stormMs` rather than all at once. */
  spread?: boolean;
  /** The longest to wait for every frozen client to be dropped, ms. */
  waitMs: number;
}

export interface FrozenFigures {
  settings: FrozenSettings;
  alone: Phase;
  storm: Phase;
  server: ServerStats;
  /** The server's stats at the end of the storm phase (loop delay and fan-out of the storm). */
  stormServer: ServerStats;
  /** The server's stats at the end of the alone phase. */
  aloneServer: ServerStats;
  /** How long the alone phase lasted, and the storm until the final stats, ms. */
  aloneMs: number;
  stormMs: number;
  /** ms from the frozen clients' connect until the last of them was dropped (or the wait ended). */
  allDroppedMs: number;
}

interface Phase {
  /** From connect() to the socket's `connect` (the handshake, in the client). */
  connect: number[];
  /** From connect to the response's headers. */
  headers: number[];
  firstEvent: number[];
  perEvent: number[];
  /** Healthy clients that saw their connection cut. */
  cut: number;
}

const absolute = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A healthy client: reads everything, notes its first-event and per-event latencies. */
function healthyClient(port: number, path: string, phase: () => Phase): Socket {
  const started = performance.now();
  let text = '';
  let first = true;
  let headers = false;
  const socket = connect(port, '127.0.0.1');
  socket.setEncoding('latin1');
  socket.once('connect', () => phase().connect.push(performance.now() - started));
  socket.on('error', () => {});
  socket.once('close', () => {
    if (!closing.has(socket)) phase().cut++;
  });
  socket.write(`GET ${path}&t=${absolute()} HTTP/1.1\r\nhost: bench\r\n\r\n`);
  socket.on('data', (chunk: string) => {
    text += chunk;
    if (!headers) {
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return;
      headers = true;
      phase().headers.push(performance.now() - started);
      text = text.slice(end + 4);
    }
    // Chunked encoding: event blocks end with a blank line; the chunk-size lines are ignored.
    let end = text.indexOf('\n\n');
    while (end >= 0) {
      const block = text.slice(0, end);
      text = text.slice(end + 2);
      const data = /data: ([\d.]+)/.exec(block);
      if (data || block.includes('data:')) {
        const now = performance.now();
        if (first) phase().firstEvent.push(now - started);
        first = false;
        if (data) phase().perEvent.push(absolute() - Number(data[1]));
      }
      end = text.indexOf('\n\n');
    }
  });
  return socket;
}

const closing = new WeakSet<Socket>();

export async function measureFrozen(settings: FrozenSettings): Promise<FrozenFigures> {
  const { mode, frozen, healthy, stormMs, waitMs, spread: spreadOut, ...server } = settings;
  const child = fork(new URL('./frozen-server.ts', import.meta.url).pathname, [], {
    execArgv: [
      '--import',
      'tsx',
      ...(process.env.FROZEN_PROFILE ? ['--cpu-prof', '--cpu-prof-dir=/tmp/frozen-prof'] : []),
    ],
    env: { ...process.env, FROZEN_SERVER: JSON.stringify(server) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve) =>
    child.once('message', (message) => resolve((message as { port: number }).port)),
  );
  const stats = (message = 'stats') =>
    new Promise<ServerStats>((resolve) => {
      child.once('message', (answer) => resolve(answer as ServerStats));
      child.send(message);
    });
  const path = (kind: string) => `/${mode === 'topic' ? 'topic' : 'paced'}?kind=${kind}`;
  const frozenPath = `/${mode === 'topic' ? 'topic' : 'burst'}?kind=frozen`;
  const alone: Phase = { connect: [], headers: [], firstEvent: [], perEvent: [], cut: 0 };
  const storm: Phase = { connect: [], headers: [], firstEvent: [], perEvent: [], cut: 0 };
  let phase = alone;
  const current = () => phase;
  const sockets: Socket[] = [];
  try {
    for (let index = 0; index < healthy; index++) {
      sockets.push(healthyClient(port, path('resident'), current));
    }
    await sleep(500);
    alone.firstEvent.length = 0;
    alone.headers.length = 0; // the residents' own first events are not counted
    await stats('reset');
    const aloneStarted = performance.now();
    for (let index = 0; index < 15; index++) {
      sockets.push(healthyClient(port, path('healthy'), current));
      await sleep(100);
    }
    const aloneServer = await stats('reset');
    const aloneMs = performance.now() - aloneStarted;
    phase = storm;
    const stormStarted = performance.now();
    const freeze = () => {
      const socket = connect(port, '127.0.0.1');
      socket.on('error', () => {});
      socket.write(`GET ${frozenPath} HTTP/1.1\r\nhost: bench\r\n\r\n`);
      socket.pause(); // never read: the receive buffer fills, then the server's send buffer
      sockets.push(socket);
    };
    // All at once (a burst), or spread evenly over the storm.
    const spread = spreadOut ? stormMs / frozen : 0;
    let frozenOpened = 0;
    const freezeUpTo = (count: number) => {
      for (; frozenOpened < Math.min(count, frozen); frozenOpened++) freeze();
    };
    if (!spread) freezeUpTo(frozen);
    let nextHealthy = 0;
    while (performance.now() - stormStarted < stormMs) {
      const elapsed = performance.now() - stormStarted;
      if (spread) freezeUpTo(Math.floor(elapsed / spread) + 1);
      if (elapsed >= nextHealthy) {
        sockets.push(healthyClient(port, path('healthy'), current));
        nextHealthy += 50;
      }
      await sleep(spread ? Math.min(5, spread) : 50);
    }
    freezeUpTo(frozen);
    const stormServer = await stats();
    await sleep(0);
    let allDroppedMs = Number.NaN;
    while (performance.now() - stormStarted < waitMs) {
      const now = await stats();
      if ((now.kinds.frozen?.dropped ?? 0) >= frozen) {
        allDroppedMs = performance.now() - stormStarted;
        break;
      }
      await sleep(100);
    }
    await sleep(200); // the last per-event figures
    return {
      settings,
      alone,
      storm,
      server: await stats(),
      aloneMs,
      stormMs: performance.now() - stormStarted,
      stormServer,
      aloneServer,
      allDroppedMs,
    };
  } finally {
    for (const socket of sockets) {
      closing.add(socket);
      socket.destroy();
    }
    child.disconnect();
  }
}

const triple = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
  const ms = (value: number | undefined) => (value === undefined ? '-' : value.toFixed(0));
  return `${ms(at(0.5))} / ${ms(at(0.99))} / ${ms(sorted[sorted.length - 1])} ms`;
};
const mib = (bytes: number) => `${(bytes / 1_048_576).toFixed(1)} MiB`;

/** The Linux settings that decide what a frozen socket takes (see docs/server.md). */
function kernelSettings(): string {
  const read = (name: string) => {
    try {
      return readFileSync(`/proc/sys/net/ipv4/${name}`, 'latin1').trim().split(/\s+/).at(-1)!;
    } catch {
      return '?';
    }
  };
  const lowat = read('tcp_notsent_lowat');
  return `${read('tcp_wmem')}, ${lowat === '4294967295' ? 'unlimited' : lowat}`;
}

/** The figures as `[figure, value]` rows. */
export function frozenRows(figures: FrozenFigures): Array<[string, string]> {
  const { settings, alone, storm, server, stormServer, aloneServer } = figures;
  const frozen = server.kinds.frozen ?? { served: 0, dropped: 0, dropMs: [], reasons: [] };
  const reasons = new Map<string, number>();
  for (const reason of frozen.reasons) reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  const n = settings.frozen;
  return [
    [
      'healthy request reaches the handler, alone',
      triple(aloneServer.kinds.healthy?.arrivalMs ?? []),
    ],
    [
      `healthy request reaches the handler, ${n} frozen`,
      triple(server.kinds.healthy?.arrivalMs ?? []),
    ],
    [`healthy accept to handler, ${n} frozen`, triple(server.kinds.healthy?.acceptedMs ?? [])],
    [`healthy connect, ${n} frozen`, triple(storm.connect)],
    ['healthy response headers, alone: p50 / p99 / max', triple(alone.headers)],
    [`healthy response headers, ${n} frozen: p50 / p99 / max`, triple(storm.headers)],
    ['healthy first event, alone: p50 / p99 / max', triple(alone.firstEvent)],
    [`healthy first event, ${n} frozen: p50 / p99 / max`, triple(storm.firstEvent)],
    ['healthy per-event latency, alone: p50 / p99 / max', triple(alone.perEvent)],
    [`healthy per-event latency, ${n} frozen: p50 / p99 / max`, triple(storm.perEvent)],
    ['healthy clients cut (alone / frozen)', `${alone.cut} / ${storm.cut}`],
    [
      `server loop delay, ${n} frozen: p50 / p99 / max`,
      `${stormServer.loopDelay.map((value) => value.toFixed(0)).join(' / ')} ms`,
    ],
    [
      `one publish's fan-out, ${n} frozen: p50 / p99 / max`,
      `${stormServer.fanOut.map((value) => value.toFixed(1)).join(' / ')} ms`,
    ],
    [
      'server CPU, event-loop utilization during the storm',
      `${stormServer.cpuMs.toFixed(0)} ms, ${(stormServer.utilization * 100).toFixed(0)} %`,
    ],
    [
      'frozen dropped (served), why',
      `${frozen.dropped} of ${n} (${frozen.served}) ${JSON.stringify(Object.fromEntries(reasons))}`,
    ],
    ['frozen dropped after: p50 / p99 / max', triple(frozen.dropMs)],
    ['every frozen client dropped after', `${figures.allDroppedMs.toFixed(0)} ms`],
    [
      'server CPU from the storm to the last drop; per frozen client',
      `${server.cpuMs.toFixed(0)} ms; ${(server.cpuMs / n).toFixed(1)} ms`,
    ],
    [
      'server CPU per second with the healthy clients alone',
      `${((aloneServer.cpuMs / figures.aloneMs) * 1000).toFixed(0)} ms`,
    ],
    ['healthy clients dropped', String(server.kinds.healthy?.dropped ?? 0)],
    ['server peak RSS', mib(server.peakRss)],
    ['kernel: tcp_wmem (max send buffer), tcp_notsent_lowat', kernelSettings()],
    ['machine TCP memory at peak (kernel buffers)', mib(server.peakTcpMemory)],
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      mode: { type: 'string', default: 'topic' },
      frozen: { type: 'string', default: '200' },
      healthy: { type: 'string', default: '20' },
      'publish-ms': { type: 'string', default: '10' },
      'event-bytes': { type: 'string', default: '1024' },
      'storm-ms': { type: 'string', default: '3000' },
      'wait-ms': { type: 'string', default: '60000' },
      'write-timeout-ms': { type: 'string' },
      'max-buffered-bytes': { type: 'string' },
      'high-water-mark': { type: 'string' },
      spread: { type: 'boolean', default: false },
    },
  });
  const number = (value: string | undefined) => (value === undefined ? undefined : Number(value));
  const settings: FrozenSettings = {
    mode: values.mode === 'burst' ? 'burst' : 'topic',
    frozen: Number(values.frozen),
    healthy: Number(values.healthy),
    publishMs: Number(values['publish-ms']),
    eventBytes: Number(values['event-bytes']),
    stormMs: Number(values['storm-ms']),
    waitMs: Number(values['wait-ms']),
    spread: values.spread,
  };
  const optional = {
    writeTimeoutMs: number(values['write-timeout-ms']),
    maxBufferedBytes: number(values['max-buffered-bytes']),
    highWaterMark: number(values['high-water-mark']),
  };
  for (const [name, value] of Object.entries(optional)) {
    if (value !== undefined) (settings as unknown as Record<string, number>)[name] = value;
  }
  console.log(JSON.stringify(settings));
  const figures = await measureFrozen(settings);
  for (const [figure, value] of frozenRows(figures)) console.log(`  ${figure.padEnd(56)} ${value}`);
  process.exit(0);
}
