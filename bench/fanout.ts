/**
 * Fan-out: one topic broadcast to N SSE connections over loopback, side by side: raw node:http
 * (`res.write` of an event encoded once: the ceiling), better-sse channels, Hono `streamSSE`, and
 * the ssekit hub (memory engine; a Redis part compares it with the Redis engine).
 *
 * Each server runs in a fresh process (bench/fanout-server.ts) per N and run, and its clients in
 * another (bench/fanout-client.ts: raw sockets counting `data:` lines); this process coordinates
 * them over IPC (bench/fanout-measure.ts) and prints the tables. ssekit runs as users run it,
 * compiled by tsc into a temporary directory (better-sse and Hono come compiled from npm).
 *
 * Per run: a warm-up with 10 connections and 50 broadcasts (then closed, so that what it creates
 * once is in the baseline), the server's heap and RSS after GC with 0 and with N idle
 * connections, 3 settling broadcasts, paced broadcasts timed from the server's call to the last
 * client's receipt (CLOCK_MONOTONIC on both sides), and a burst of broadcasts, one per event-loop
 * turn, for delivered events/s. Every client must receive every event. The CPU of the server and
 * client processes during the bursts is printed too: a client well below one core did not set
 * the pace.
 *
 * Environment:
 * - BENCH_FANOUT_N: connection counts, comma-separated. @default 100,1000,10000 (the file limit of
 *   each process is raised to fit: fanout-ipc.ts)
 * - BENCH_FANOUT_SERVERS: which servers. @default raw,better-sse,hono,ssekit
 * - BENCH_FANOUT_RUNTIMES: which runtimes run the servers, comma-separated: node, bun, deno.
 *   @default node,bun,deno (a runtime whose binary is not installed is skipped, with a note,
 *   unless it was asked for by name). Bun and Deno (their npm packages' binaries, test/runtimes/_runtimes.ts) run
 *   bench/fanout-server-web.ts: `raw`, their own baseline (`Bun.serve` / `Deno.serve`, a
 *   `ReadableStream` per connection, each event encoded once and enqueued to every stream), and
 *   `ssekit` (`hub.subscribe` returned from the fetch handler); the other servers are Node's
 *   only. Each runtime gets its own tables, ssekit against that runtime's raw; the clients stay on
 *   Node. The JSON keeps Node's entries in `results` (what bench/chart.ts draws) and Bun's and
 *   Deno's in `runtimeResults`, every entry naming its `runtime`, and the versions in `runtimes`.
 *   It is rewritten by every run: a run without node leaves `results` empty.
 * - BENCH_FANOUT_BROADCASTS: paced broadcasts per run for the latency percentiles, at most
 *   75000 / N but at least 40. @default 50
 * - BENCH_FANOUT_DELIVERIES: events per burst over all clients; broadcasts per burst = this / N,
 *   clamped to 20..2000. @default 100000
 * - BENCH_FANOUT_REDIS_N: connections of the Redis part. @default 100
 * - BENCH_FANOUT_PROFILE: a directory; every server process runs with `--cpu-prof`, writing to
 *   `<dir>/<server>-N<n>/` (with BENCH_FANOUT_SERVERS=ssekit for a profile of ssekit alone).
 * - BENCH_FANOUT_NODE_FLAGS: more Node flags for the server processes, space-separated (for example
 *   `--heap-prof --heap-prof-dir=/tmp/heap`: where the heap of idle connections goes).
 * - BENCH_RUNS: runs per median (bench/run.ts passes at most 3 here).
 * - BENCH_FANOUT_SSEKIT=src: run ssekit from src/ through tsx instead of its tsc build.
 * - BENCH_FANOUT_VERBOSE=1: print each burst's timings and CPU times to stderr.
 * - REDIS_URL: a Redis to use instead of starting redis-server (see test/helpers/redis.ts).
 */
import { availableParallelism, loadavg } from 'node:os';
import { startRedis, type TestRedis } from '../test/helpers/redis.ts';
import {
  broadcastsPerBurst,
  buildSsekit,
  measure,
  NODE,
  pacedBroadcasts,
  type Sample,
  type ServerRuntime,
  type Settings,
} from './fanout-measure.ts';
import { machine, median, printTable, type Row, writeResults } from './report.ts';

const SERVERS = ['raw', 'better-sse', 'hono', 'ssekit'] as const;
const RUNTIMES = ['node', 'bun', 'deno'] as const;
type RuntimeName = (typeof RUNTIMES)[number];
/** The servers of Bun and Deno (bench/fanout-server-web.ts): their own raw baseline and ssekit. */
const WEB_SERVERS: readonly string[] = ['raw', 'ssekit'];
/** What serves the connections on each runtime, for the tables' titles. */
const SERVES: Record<RuntimeName, string> = {
  node: 'node:http',
  bun: 'Bun.serve',
  deno: 'Deno.serve',
};

export interface FanoutOptions {
  /** Runs per median. */
  runs: number;
  /** The fan-out part (every server, every N). @default true */
  fanout?: boolean;
  /** The Redis part (ssekit on the memory engine vs on Redis). @default true */
  redis?: boolean;
}

export async function benchFanout(options: FanoutOptions): Promise<void> {
  const started = performance.now();
  const ssekit = buildSsekit(process.env.BENCH_FANOUT_SSEKIT === 'src');
  try {
    const settings: Settings = {
      ssekit,
      broadcasts: envNumber('BENCH_FANOUT_BROADCASTS', 50),
      deliveries: envNumber('BENCH_FANOUT_DELIVERIES', 100_000),
      profileDir: process.env.BENCH_FANOUT_PROFILE || undefined,
    };
    if (options.fanout !== false) await fanoutPart(options.runs, settings);
    if (options.redis !== false) await redisPart(options.runs, settings);
  } finally {
    ssekit.remove();
  }
  const load = loadavg().map((value) => value.toFixed(1));
  console.log(
    `\nFan-out section: ${((performance.now() - started) / 1000).toFixed(0)} s, ssekit ${ssekit.from}; load average at the end ${load.join(' ')} on ${availableParallelism()} cores (other work on the machine skews these figures).`,
  );
}

/** A runtime of the fan-out part: how its server processes run, and which servers it has. */
interface Runtime {
  name: RuntimeName;
  /** `node v20.x`, `bun 1.4.5`, `deno 2.9.6`. */
  version: string;
  server: ServerRuntime;
  servers: string[];
}

/** BENCH_FANOUT_RUNTIMES, checked, with each runtime's binary (Bun and Deno from node_modules). */
async function resolveRuntimes(servers: string[]): Promise<Runtime[]> {
  const asked = process.env.BENCH_FANOUT_RUNTIMES !== undefined;
  const names = envList('BENCH_FANOUT_RUNTIMES', [...RUNTIMES]);
  for (const name of names) {
    if (!(RUNTIMES as readonly string[]).includes(name))
      throw new TypeError(
        `BENCH_FANOUT_RUNTIMES: unknown runtime ${name}; use ${RUNTIMES.join(',')}`,
      );
  }
  const runtimes: Runtime[] = [];
  for (const name of RUNTIMES.filter((runtime) => names.includes(runtime))) {
    if (name === 'node') {
      runtimes.push({ name, version: `node ${process.version}`, server: NODE, servers });
      continue;
    }
    const webServers = servers.filter((server) => WEB_SERVERS.includes(server));
    if (webServers.length === 0) {
      console.log(
        `\n(${name}: skipped, it has only ${WEB_SERVERS.join(' and ')} of BENCH_FANOUT_SERVERS)`,
      );
      continue;
    }
    // Loaded only here: it brings esbuild and the packing script along.
    const { runtimeBinary, runtimeVersion } = await import('../test/runtimes/_runtimes.ts');
    let binary: string;
    try {
      binary = runtimeBinary(name);
    } catch (error) {
      if (asked) throw error;
      console.log(`\n(${name}: skipped, its binary is not installed: ${String(error)})`);
      continue;
    }
    runtimes.push({
      name,
      version: runtimeVersion(name),
      server: { name, binary },
      servers: webServers,
    });
  }
  if (runtimes.length === 0)
    throw new TypeError('BENCH_FANOUT_RUNTIMES: no runtime has any of BENCH_FANOUT_SERVERS');
  return runtimes;
}

async function fanoutPart(runs: number, settings: Settings): Promise<void> {
  const fanoutMachine = machine();
  const counts = envList('BENCH_FANOUT_N', ['100', '1000', '10000']).map(Number);
  const servers = envList('BENCH_FANOUT_SERVERS', [...SERVERS]);
  for (const server of servers) {
    if (!(SERVERS as readonly string[]).includes(server))
      throw new TypeError(
        `BENCH_FANOUT_SERVERS: unknown server ${server}; use ${SERVERS.join(',')}`,
      );
  }
  const runtimes = await resolveRuntimes(servers);
  const results = new Map<string, Sample[]>();
  const problems: string[] = [];
  for (const n of counts) {
    for (let run = 1; run <= runs; run++) {
      // Runtimes and servers interleaved within a run, so that drift on the machine hits them all
      // alike.
      for (const runtime of runtimes) {
        const on = runtime.name === 'node' ? '' : ` on ${runtime.name}`;
        for (const server of runtime.servers) {
          progress(`fan-out N=${n} run ${run}/${runs}: ${server}${on}`);
          const sample = await measure(server, n, settings, undefined, runtime.server);
          for (const problem of sample.problems) problems.push(`${server}${on} N=${n}: ${problem}`);
          const key = `${runtime.name}/${server}@${n}`;
          results.set(key, [...(results.get(key) ?? []), sample]);
        }
      }
    }
  }
  progress('');
  const entries = runtimes.map((runtime) => {
    const of = (server: string, n: number) => results.get(`${runtime.name}/${server}@${n}`) ?? [];
    // With Node alone, the titles as they always were; else each table names its runtime.
    const title =
      runtimes.length === 1 && runtime.name === 'node'
        ? 'Fan-out'
        : `Fan-out on ${runtime.version} (${SERVES[runtime.name]})`;
    printRuntime(runtime.name, title, runtime.servers, of, counts, runs, settings);
    return counts.flatMap((n) =>
      runtime.servers.map((server) => {
        const samples = of(server, n);
        const latencies = samples.flatMap((sample) => sample.latenciesMs);
        return {
          runtime: runtime.name,
          server,
          n,
          eventsPerSecond: median(samples.map((sample) => sample.eventsPerSecond)),
          latencyMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99) },
          heapPerConnection: median(samples.map((sample) => sample.heapPerConnection)),
          rssPerConnection: median(samples.map((sample) => sample.rssPerConnection)),
          serverCpu: median(samples.map((sample) => sample.serverCpu)),
          clientCpu: median(samples.map((sample) => sample.clientCpu)),
          complete: samples.every((sample) => sample.complete),
        };
      }),
    );
  });
  printProblems(problems);
  const all = entries.flat();
  writeResults('fanout', {
    machine: fanoutMachine,
    runs,
    settings: { broadcasts: settings.broadcasts, deliveries: settings.deliveries },
    counts,
    servers,
    runtimes: Object.fromEntries(
      runtimes.map((runtime) => [
        runtime.name,
        { version: runtime.version, servers: runtime.servers },
      ]),
    ),
    // Node's, against Node's raw (what bench/chart.ts draws); Bun's and Deno's apart, each
    // against its own raw.
    results: all.filter((entry) => entry.runtime === 'node'),
    runtimeResults: all.filter((entry) => entry.runtime !== 'node'),
    problems,
    loadAverageAfter: machine().loadAverage,
  });
}

/** One runtime's tables: events/s, CPU, latency, heap and RSS per idle connection. */
function printRuntime(
  runtime: RuntimeName,
  title: string,
  servers: string[],
  of: (server: string, n: number) => Sample[],
  counts: number[],
  runs: number,
  settings: Settings,
): void {
  const has = (server: string) => servers.includes(server);
  const burst = (n: number) => broadcastsPerBurst(n, settings);

  printTable(
    `${title}: delivered events/s (all N clients together) during a burst of ${counts.map((n) => `${burst(n)}`).join('/')} broadcasts, median of ${runs}, each server in a fresh process (ssekit/x above 1: ssekit delivers more)`,
    counts.map((n) => {
      const rate = (server: string) => median(of(server, n).map((s) => s.eventsPerSecond));
      const row: Row = { N: String(n) };
      for (const server of servers) row[server] = formatRate(of(server, n));
      if (has('ssekit') && has('raw'))
        row['ssekit/raw (>= 0.95)'] = verdict(rate('ssekit') / rate('raw'), 0.95, 'at-least');
      if (has('ssekit') && has('better-sse'))
        row['ssekit/better-sse (>= 1.4)'] = verdict(
          rate('ssekit') / rate('better-sse'),
          1.4,
          'at-least',
        );
      return row;
    }),
  );

  const cpu = (server: string) => {
    const samples = counts.flatMap((n) => of(server, n));
    const range = (pick: (s: Sample) => number) =>
      `${(100 * Math.min(...samples.map(pick))).toFixed(0)}-${(100 * Math.max(...samples.map(pick))).toFixed(0)}%`;
    return `${server} ${range((s) => s.serverCpu)} (its clients ${range((s) => s.clientCpu)})`;
  };
  console.log(
    `\nCPU during the bursts, in % of one core, server process (client process): ${servers.map(cpu).join(', ')}.`,
  );

  printTable(
    `${title}: time for one broadcast to reach all N clients, p50 / p99 in ms over ${counts.map((n) => pacedBroadcasts(n, settings) * runs).join('/')} paced broadcasts (all runs)`,
    counts.map((n) => {
      const row: Row = { N: String(n) };
      for (const server of servers) row[server] = formatLatency(of(server, n));
      if (has('ssekit') && has('raw')) {
        const at = (server: string, p: number) =>
          percentile(
            of(server, n).flatMap((s) => s.latenciesMs),
            p,
          );
        row['ssekit p50/raw p50'] = (at('ssekit', 50) / at('raw', 50)).toFixed(2);
        row['ssekit p99/raw p99 (<= 1.2)'] = verdict(
          at('ssekit', 99) / at('raw', 99),
          1.2,
          'at-most',
        );
      }
      return row;
    }),
  );

  for (const [metric, pick] of [
    ['heap', (s: Sample) => s.heapPerConnection],
    ['RSS', (s: Sample) => s.rssPerConnection],
  ] as const) {
    printTable(
      `${title}: server ${metric} per idle connection ((with N idle - with 0) / N, after GC), median of ${runs}`,
      counts.map((n) => {
        const value = (server: string) => median(of(server, n).map(pick));
        const row: Row = { N: String(n) };
        for (const server of servers) row[server] = formatBytes(value(server));
        if (has('ssekit') && has('raw')) {
          const ratio = value('ssekit') / value('raw');
          if (metric === 'heap') row['ssekit/raw (<= 1.1)'] = verdict(ratio, 1.1, 'at-most');
          // RSS grows by whole pages from pools: at small N it may not move at all.
          else row['ssekit/raw'] = value('raw') > 0 ? ratio.toFixed(2) : 'n/a';
        }
        return row;
      }),
    );
  }
  if (runtime === 'bun')
    console.log(
      "\nBun's heap: JavaScriptCore's heap size after `Bun.gc(true)` (process.memoryUsage), which counts the memory native objects report (ArrayBuffers and the like) where V8's heapUsed does not.",
    );
}

async function redisPart(runs: number, settings: Settings): Promise<void> {
  const n = envNumber('BENCH_FANOUT_REDIS_N', 100);
  progress('starting redis-server');
  const redis: TestRedis = await startRedis();
  // redis-server is not one of our forked children: kill it too if this process exits early.
  const killRedis = () => void redis.kill().catch(() => {});
  process.once('exit', killRedis);
  const engines = ['ssekit', 'ssekit-redis'];
  const results = new Map<string, Sample[]>();
  const problems: string[] = [];
  try {
    for (let run = 1; run <= runs; run++) {
      for (const engine of engines) {
        progress(`redis N=${n} run ${run}/${runs}: ${engine}`);
        const sample = await measure(engine, n, settings, redis.url);
        for (const problem of sample.problems) problems.push(`${engine} N=${n}: ${problem}`);
        results.set(engine, [...(results.get(engine) ?? []), sample]);
      }
    }
  } finally {
    process.off('exit', killRedis);
    await redis.stop();
    progress('');
  }
  const p50 = (engine: string) =>
    percentile(
      (results.get(engine) ?? []).flatMap((s) => s.latenciesMs),
      50,
    );
  printTable(
    `Hub engines: ssekit memory vs Redis Streams (redis-server on loopback, ${process.env.REDIS_URL ? 'REDIS_URL' : 'test/helpers/redis.ts: appendonly, appendfsync always'}), N = ${n}, burst of ${broadcastsPerBurst(n, settings)} broadcasts, median of ${runs}`,
    engines.map((engine) => {
      const samples = results.get(engine) ?? [];
      return {
        engine: engine === 'ssekit' ? 'memory' : 'redis',
        'events/s': formatRate(samples),
        'broadcast to all N, p50 / p99': formatLatency(samples),
        'added p50 per event':
          engine === 'ssekit' ? '-' : `${(p50(engine) - p50('ssekit')).toFixed(2)} ms`,
        'events/s vs memory': (
          median(samples.map((s) => s.eventsPerSecond)) /
          median((results.get('ssekit') ?? []).map((s) => s.eventsPerSecond))
        ).toFixed(2),
      };
    }),
  );
  console.log(
    '\nThe Redis tail reads up to 512 entries per XREAD: during a burst several events reach a subscriber in one socket write (Node sends the writes of one tick together), which the memory engine (one delivery per publish) does not do.',
  );
  printProblems(problems);
}

/** Nearest-rank percentile. */
function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function formatRate(samples: Sample[]): string {
  const rate = median(samples.map((s) => s.eventsPerSecond));
  const text = rate >= 1e6 ? `${(rate / 1e6).toFixed(2)} M` : `${(rate / 1e3).toFixed(0)} k`;
  return samples.every((s) => s.complete) ? text : `${text} (incomplete)`;
}

function formatLatency(samples: Sample[]): string {
  const all = samples.flatMap((s) => s.latenciesMs);
  const format = (ms: number) => (ms < 10 ? ms.toFixed(2) : ms.toFixed(1));
  return `${format(percentile(all, 50))} / ${format(percentile(all, 99))}`;
}

function formatBytes(bytes: number): string {
  return Math.abs(bytes) >= 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${bytes.toFixed(0)} B`;
}

function verdict(ratio: number, target: number, direction: 'at-least' | 'at-most'): string {
  const met = direction === 'at-least' ? ratio >= target : ratio <= target;
  return `${ratio.toFixed(2)} (${met ? 'met' : 'missed'})`;
}

function printProblems(problems: string[]): void {
  if (problems.length === 0) return;
  console.log('\nProblems seen (the figures above include these runs):');
  for (const problem of problems) console.log(`- ${problem}`);
}

function progress(text: string): void {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${text}`);
}

function envList(name: string, fallback: string[]): string[] {
  const value = process.env[name];
  return value
    ? value
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean)
    : fallback;
}

function envNumber(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value <= 0)
    throw new TypeError(`${name} must be a positive number, got ${process.env[name]}`);
  return value;
}
