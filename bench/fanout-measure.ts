/**
 * One measurement of the fan-out benchmark (bench/fanout.ts): a server process and a client
 * process, both fresh, driven over IPC through memory, latency and throughput phases. Also
 * builds ssekit the way users run it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type Child, startChild } from './fanout-ipc.ts';

const WARM_UP_CONNECTIONS = 10;
/** Broadcasts to the warm-up connections: cheap, and they get the broadcast path compiled. */
const WARM_UP_BROADCASTS = 50;
/** Broadcasts to the N connections before the timed ones. */
const SETTLE_BROADCASTS = 3;

export interface Settings {
  /** Where the server processes import ssekit from. */
  ssekit: SsekitBuild;
  broadcasts: number;
  deliveries: number;
  profileDir: string | undefined;
}

export interface Sample {
  eventsPerSecond: number;
  /** CPU time of the client process during the burst, per wall-clock time (1 = one full core). */
  clientCpu: number;
  serverCpu: number;
  /** False when the burst was not fully delivered within its time bound. */
  complete: boolean;
  latenciesMs: number[];
  heapPerConnection: number;
  rssPerConnection: number;
  problems: string[];
}

interface Memory {
  heapUsed: number;
  rss: number;
}

interface Stats {
  connections: number;
  ok: number;
  min: number;
  max: number;
  closedByServer: number;
}

export interface SsekitBuild {
  base: string;
  ext: string;
  from: string;
  remove(): void;
}

/**
 * ssekit as users run it: src/ compiled by plain tsc (tsconfig.build.json, without declarations)
 * into a temporary directory. Running src/ through tsx instead (BENCH_FANOUT_SSEKIT=src) costs
 * ssekit, and only ssekit, the `__name` helper that tsx's esbuild adds to every named closure.
 */
export function buildSsekit(fromSource: boolean): SsekitBuild {
  const root = new URL('../', import.meta.url);
  if (fromSource)
    return {
      base: new URL('src/', root).href,
      ext: '.ts',
      from: 'from src/ through tsx',
      remove() {},
    };
  const dir = mkdtempSync(join(tmpdir(), 'ssekit-fanout-'));
  const remove = () => {
    process.off('exit', remove);
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', remove); // also on Ctrl-C (fanout-ipc.ts exits on signals)
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const flags = ['--declaration', 'false', '--declarationMap', 'false', '--sourceMap', 'false'];
  const result = spawnSync(
    process.execPath,
    [
      tsc,
      '-p',
      'tsconfig.build.json',
      '--outDir',
      dir,
      ...flags,
      '--isolatedDeclarations',
      'false',
    ],
    { cwd: fileURLToPath(root), encoding: 'utf8', timeout: 120_000 },
  );
  // A type error elsewhere in src/ (work in progress) still emits: only missing output is fatal.
  const needed = ['adapters/node.js', 'hub/index.js', 'hub/redis.js'];
  if (!needed.every((file) => existsSync(join(dir, file)))) {
    remove();
    throw new Error(
      `tsc did not build ssekit for the fan-out benchmark:\n${result.stdout}${result.stderr}`,
    );
  }
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  return { base: pathToFileURL(`${dir}/`).href, ext: '.js', from: 'built with tsc', remove };
}

/**
 * What runs the server process: Node (bench/fanout-server.ts, node:http), or Bun or Deno
 * (bench/fanout-server-web.ts, `Bun.serve` / `Deno.serve`) from `binary`. The clients always run
 * on Node.
 */
export type ServerRuntime = { name: 'node' } | { name: 'bun' | 'deno'; binary: string };

export const NODE: ServerRuntime = { name: 'node' };

interface Pair {
  server: Child;
  client: Child;
  port: number;
}

/** One server with N clients, each in a fresh process: memory, latency, then throughput. */
export function measure(
  server: string,
  n: number,
  settings: Settings,
  redisUrl?: string,
  runtime: ServerRuntime = NODE,
): Promise<Sample> {
  return withPair(server, n, settings, redisUrl, runtime, async (pair) => {
    const memory = await idleMemory(pair, n);
    await paced(pair, n, SETTLE_BROADCASTS);
    const latenciesMs = await paced(pair, n, pacedBroadcasts(n, settings));
    const broadcasts = broadcastsPerBurst(n, settings);
    const burst = await timeBurst(pair, n, broadcasts);
    if (process.env.BENCH_FANOUT_VERBOSE) {
      const ms = (us: number) => `${(us / 1000).toFixed(0)} ms`;
      console.error(
        `\n${server} N=${n}: broadcasting took ${ms(burst.broadcastingUs)}, delivery ${ms(burst.wallUs)}, CPU server ${ms(burst.serverCpuUs)}, client ${ms(burst.clientCpuUs)}`,
      );
    }
    const problems = await check(
      pair.client,
      n,
      SETTLE_BROADCASTS + latenciesMs.length + broadcasts,
    );
    if (!burst.complete)
      problems.push(`burst incomplete: ${burst.received} of ${n * broadcasts} events in 30 s`);
    return {
      eventsPerSecond: burst.received / (burst.wallUs / 1e6),
      // The calls around the burst add a little CPU time: close enough to tell a saturated client.
      clientCpu: burst.clientCpuUs / burst.wallUs,
      serverCpu: burst.serverCpuUs / burst.wallUs,
      complete: burst.complete,
      latenciesMs,
      heapPerConnection: memory.heapPerConnection,
      rssPerConnection: memory.rssPerConnection,
      problems,
    };
  });
}

/** Starts a server and a client process, runs `body`, and stops both whatever happens. */
async function withPair<T>(
  server: string,
  n: number,
  settings: Settings,
  redisUrl: string | undefined,
  runtime: ServerRuntime,
  body: (pair: Pair) => Promise<T>,
): Promise<T> {
  const fileDescriptors = n + WARM_UP_CONNECTIONS + 64;
  const serverArgs = [server, settings.ssekit.base, settings.ssekit.ext];
  const settled = await Promise.allSettled([
    runtime.name === 'node'
      ? startChild(
          new URL('./fanout-server.ts', import.meta.url),
          [...serverArgs, ...(redisUrl ? [redisUrl] : [])],
          {
            execArgv: ['--expose-gc', ...nodeFlags(server, n, settings), '--import', 'tsx'],
            fileDescriptors,
          },
        )
      : startChild(new URL('./fanout-server-web.ts', import.meta.url), serverArgs, {
          executable: runtime.binary,
          // Deno: all permissions (net, FFI for the clock, env), V8's gc() exposed, no deno.json.
          execArgv:
            runtime.name === 'bun'
              ? ['run', '--no-install']
              : [
                  'run',
                  '-A',
                  '--no-config',
                  '--unstable-no-legacy-abort',
                  '--v8-flags=--expose-gc',
                ],
          fileDescriptors,
        }),
    startChild(new URL('./fanout-client.ts', import.meta.url), [], {
      execArgv: ['--import', 'tsx'],
      fileDescriptors,
    }),
  ]);
  const started = settled.flatMap((result) =>
    result.status === 'fulfilled' ? [result.value] : [],
  );
  try {
    for (const result of settled) if (result.status === 'rejected') throw result.reason;
    const [serverChild, clientChild] = started as [Child, Child];
    const port = await serverChild.call<number>('listen');
    return await body({ server: serverChild, client: clientChild, port });
  } finally {
    await Promise.all(started.map((child) => child.stop()));
  }
}

/** BENCH_FANOUT_PROFILE and BENCH_FANOUT_NODE_FLAGS: flags for Node server processes only. */
function nodeFlags(server: string, n: number, settings: Settings): string[] {
  const flags = settings.profileDir
    ? ['--cpu-prof', `--cpu-prof-dir=${settings.profileDir}/${server}-N${n}`]
    : [];
  // BENCH_FANOUT_NODE_FLAGS: more flags for the server processes (--heap-prof, --trace-gc...).
  flags.push(...(process.env.BENCH_FANOUT_NODE_FLAGS ?? '').split(' ').filter(Boolean));
  return flags;
}

/**
 * The server's heap and RSS per idle connection: after a warm-up whose connections are closed
 * again (what the first requests and broadcasts create once, such as compiled code, pools and the
 * topic, lands in the baseline), then with N idle connections.
 */
async function idleMemory(
  pair: Pair,
  n: number,
): Promise<{ heapPerConnection: number; rssPerConnection: number }> {
  await pair.client.call('open', { port: pair.port, count: WARM_UP_CONNECTIONS });
  await waitForSubscribers(pair.server, WARM_UP_CONNECTIONS);
  await paced(pair, WARM_UP_CONNECTIONS, WARM_UP_BROADCASTS);
  await pair.client.call('close');
  await waitForSubscribers(pair.server, 0);
  const baseline = await pair.server.call<Memory>('memory');
  await pair.client.call('open', { port: pair.port, count: n }, 120_000);
  await waitForSubscribers(pair.server, n);
  const idle = await pair.server.call<Memory>('memory');
  return {
    heapPerConnection: (idle.heapUsed - baseline.heapUsed) / n,
    rssPerConnection: (idle.rss - baseline.rss) / n,
  };
}

/** A burst of `broadcasts`, timed from the first broadcast to the last delivery (30 s at most). */
async function timeBurst(pair: Pair, n: number, broadcasts: number) {
  await pair.client.call('expect', { deliveries: n * broadcasts });
  const cpu = () => Promise.all([pair.server.call<number>('cpu'), pair.client.call<number>('cpu')]);
  const before = await cpu();
  const burst = await pair.server.call<{ start: number; end: number }>(
    'burst',
    { count: broadcasts },
    120_000,
  );
  const delivered = await pair.client.call<{ at: number; received: number; complete: boolean }>(
    'wait',
    { timeoutMs: 30_000 },
    40_000,
  );
  const after = await cpu();
  return {
    received: delivered.received,
    complete: delivered.complete,
    wallUs: delivered.at - burst.start,
    broadcastingUs: burst.end - burst.start,
    serverCpuUs: after[0] - before[0],
    clientCpuUs: after[1] - before[1],
  };
}

/** That every client got every event, with status 200, and was not cut off. */
async function check(client: Child, n: number, perClient: number): Promise<string[]> {
  const stats = await client.call<Stats>('stats');
  const problems: string[] = [];
  if (stats.ok !== n) problems.push(`${n - stats.ok} responses without status 200`);
  if (stats.closedByServer > 0)
    problems.push(`${stats.closedByServer} connections closed by the server`);
  if (stats.min !== perClient || stats.max !== perClient)
    problems.push(`clients received ${stats.min} to ${stats.max} events, expected ${perClient}`);
  return problems;
}

/**
 * `count` broadcasts, one at a time: each is timed from the server's broadcast call to the moment
 * the client process has counted it on all `n` connections, and the next starts only then.
 */
async function paced(pair: Pair, n: number, count: number): Promise<number[]> {
  const latencies: number[] = [];
  for (let index = 0; index < count; index++) {
    await pair.client.call('expect', { deliveries: n });
    const start = await pair.server.call<number>('broadcast');
    const done = await pair.client.call<{ at: number; complete: boolean; received: number }>(
      'wait',
      { timeoutMs: 10_000 },
      15_000,
    );
    if (!done.complete)
      throw new Error(`a broadcast reached ${done.received} of ${n} clients within 10 s`);
    latencies.push((done.at - start) / 1000);
  }
  return latencies;
}

async function waitForSubscribers(server: Child, expected: number): Promise<void> {
  const deadline = performance.now() + 60_000;
  let current = -1;
  while (performance.now() < deadline) {
    current = await server.call<number>('subscribers');
    if (current === expected) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`the server had ${current} subscribers after 60 s, expected ${expected}`);
}

export function broadcastsPerBurst(n: number, settings: Settings): number {
  return Math.min(2000, Math.max(20, Math.round(settings.deliveries / n)));
}

/**
 * BENCH_FANOUT_BROADCASTS, down to 40 at large N (each broadcast is then long already). Not
 * fewer: with 15 a run (45 over three runs), the p99 was the slowest one or two broadcasts, and
 * swung from 0.7 to 1.7 of raw's between runs of the same code.
 */
export function pacedBroadcasts(n: number, settings: Settings): number {
  return Math.min(settings.broadcasts, Math.max(40, Math.round(75_000 / n)));
}
