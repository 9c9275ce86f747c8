/**
 * `npm run bench engines`: the hub's engines side by side in one run (memory, Redis, Redis
 * Cluster, PostgreSQL), each on a real server this process starts (or REDIS_URL / DATABASE_URL):
 *
 * - topic fan-out: R subscribers of one topic (100, then 1000) read through real Response
 *   streams while one publisher publishes E events, one after another (each awaited, as a
 *   producer does). Events/s: E over the time until every subscriber has the last one. Latency
 *   per delivery: from the `publish` call to a subscriber's parser seeing the event, p50 and p99,
 *   and what each engine adds per event over memory (its p50 minus memory's).
 * - resume: a finished run of 100 events, resumed K times from its 50th (`Last-Event-ID`):
 *   from `hub.stream` to the first replayed event, p50 and p99.
 *
 * Settings (environment): BENCH_ENGINES (comma list, default all), BENCH_ENGINE_READERS
 * (default 100,1000), BENCH_ENGINE_EVENTS (default 200), BENCH_ENGINE_RESUMES (default 50).
 */
import { createHub, createMemoryEngine, type HubEngine } from '../src/hub/index.ts';
import { createPostgresEngine } from '../src/hub/postgres.ts';
import { createRedisEngine } from '../src/hub/redis.ts';
import { createParser } from '../src/index.ts';
import { startPostgres } from '../test/helpers/postgres.ts';
import { startRedis } from '../test/helpers/redis.ts';
import { startRedisCluster } from '../test/helpers/redis-cluster.ts';
import { machine, printTable, quantile, type Row, writeResults } from './report.ts';

interface EngineSetup {
  name: string;
  start(): Promise<{ engine: () => HubEngine; stop(): Promise<void> }>;
}

const SETUPS: EngineSetup[] = [
  {
    name: 'memory',
    start: async () => ({ engine: () => createMemoryEngine(), stop: async () => {} }),
  },
  {
    name: 'redis',
    start: async () => {
      const redis = await startRedis();
      return {
        engine: () => createRedisEngine({ redis: redis.client(), prefix: `bench:${Date.now()}:` }),
        stop: () => redis.stop(),
      };
    },
  },
  {
    name: 'redis-cluster',
    start: async () => {
      const cluster = await startRedisCluster();
      return {
        engine: () =>
          createRedisEngine({ redis: cluster.client(), prefix: `bench:${Date.now()}:` }),
        stop: () => cluster.stop(),
      };
    },
  },
  {
    name: 'postgres',
    start: async () => {
      const postgres = await startPostgres();
      return {
        // Durable commits (the server's own setting), a pool of 10, a schema per engine.
        engine: () =>
          createPostgresEngine({ pool: postgres.pool({ max: 10 }), schema: postgres.schema() }),
        stop: () => postgres.stop(),
      };
    },
  },
];

interface FanoutResult {
  engine: string;
  readers: number;
  events: number;
  eventsPerSecond: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
}

interface ResumeResult {
  engine: string;
  resumes: number;
  p50Ms: number;
  p99Ms: number;
}

async function fanout(engine: HubEngine, readers: number, events: number) {
  const hub = createHub({ engine, onError: () => {} });
  const topic = `bench-${readers}-${Date.now()}`;
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  let complete = 0;
  let allDone!: () => void;
  const done = new Promise<void>((resolve) => (allDone = resolve));
  const controllers: AbortController[] = [];
  for (let index = 0; index < readers; index++) {
    const controller = new AbortController();
    controllers.push(controller);
    const response = await hub.subscribe(
      new Request('http://bench.test/t', { signal: controller.signal }),
      topic,
    );
    let received = 0;
    const parser = createParser({
      onEvent: (event) => {
        const started = sentAt.get(event.data);
        if (started !== undefined) latencies.push(performance.now() - started);
        if (++received === events && ++complete === readers) allDone();
      },
    });
    const decoder = new TextDecoder();
    void (async () => {
      const reader = response.body!.getReader();
      for (;;) {
        const chunk = await reader.read().catch(() => undefined);
        if (!chunk || chunk.done) return;
        parser.feed(decoder.decode(chunk.value, { stream: true }));
      }
    })();
  }
  const started = performance.now();
  for (let index = 0; index < events; index++) {
    const data = String(index);
    sentAt.set(data, performance.now());
    await hub.publish(topic, { data });
  }
  await done;
  const elapsed = performance.now() - started;
  for (const controller of controllers) controller.abort();
  await hub.close();
  return {
    eventsPerSecond: (events / elapsed) * 1000,
    latencyP50Ms: quantile(latencies, 0.5),
    latencyP99Ms: quantile(latencies, 0.99),
  };
}

async function resume(engine: HubEngine, resumes: number) {
  const hub = createHub({ engine, onError: () => {} });
  const first = await hub.stream(
    new Request('http://bench.test/run', { method: 'POST' }),
    async (run) => {
      for (let index = 1; index <= 100; index++) await run.send({ data: String(index) });
    },
  );
  await first.text(); // the run is finished and logged
  const runId = first.headers.get('ssekit-run-id')!;
  const times: number[] = [];
  for (let index = 0; index < resumes; index++) {
    const started = performance.now();
    const response = await hub.stream(
      new Request('http://bench.test/run', {
        method: 'POST',
        headers: { 'last-event-id': `${runId}.50` },
      }),
      async () => {},
    );
    const reader = response.body!.getReader();
    await reader.read();
    times.push(performance.now() - started);
    await reader.cancel();
  }
  await hub.close();
  return { p50Ms: quantile(times, 0.5), p99Ms: quantile(times, 0.99) };
}

export async function benchEngines(): Promise<void> {
  const only = process.env.BENCH_ENGINES?.split(',');
  const readerCounts = (process.env.BENCH_ENGINE_READERS ?? '100,1000').split(',').map(Number);
  const events = Number(process.env.BENCH_ENGINE_EVENTS ?? 200);
  const resumes = Number(process.env.BENCH_ENGINE_RESUMES ?? 50);
  const fanouts: FanoutResult[] = [];
  const resumesOut: ResumeResult[] = [];
  for (const setup of SETUPS) {
    if (only && !only.includes(setup.name)) continue;
    console.error(`engines: ${setup.name}`);
    const server = await setup.start();
    try {
      for (const readers of readerCounts) {
        const engine = server.engine();
        fanouts.push({
          engine: setup.name,
          readers,
          events,
          ...(await fanout(engine, readers, events)),
        });
        await engine.close();
      }
      const engine = server.engine();
      resumesOut.push({ engine: setup.name, resumes, ...(await resume(engine, resumes)) });
      await engine.close();
    } finally {
      await server.stop();
    }
  }
  const memoryP50 = (readers: number) =>
    fanouts.find((result) => result.engine === 'memory' && result.readers === readers)
      ?.latencyP50Ms;
  const rows: Row[] = fanouts.map((result) => {
    const base = memoryP50(result.readers);
    return {
      engine: result.engine,
      readers: String(result.readers),
      'events/s': result.eventsPerSecond.toFixed(0),
      'latency p50 (ms)': result.latencyP50Ms.toFixed(2),
      'latency p99 (ms)': result.latencyP99Ms.toFixed(2),
      'added over memory, p50 (ms)':
        base === undefined ? 'n/a' : (result.latencyP50Ms - base).toFixed(2),
    };
  });
  printTable(`Topic fan-out: ${events} events published one after another`, rows);
  printTable(
    'Resume of a finished run from its 50th event: hub.stream to the first replayed event',
    resumesOut.map((result) => ({
      engine: result.engine,
      'p50 (ms)': result.p50Ms.toFixed(2),
      'p99 (ms)': result.p99Ms.toFixed(2),
    })),
  );
  writeResults('engines', { machine: machine(), fanouts, resumes: resumesOut });
}
