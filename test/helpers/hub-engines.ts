/**
 * The engines a hub suite runs on, each fresh per call: the memory engine, the Redis engine on a
 * real redis-server and the PostgreSQL engine on a real PostgreSQL (a schema of its own), both of
 * which the suite starts (and stops) around its tests.
 */
import type { Pool } from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { createMemoryEngine, type HubEngine } from '../../src/hub/index.ts';
import { createPostgresEngine } from '../../src/hub/postgres.ts';
import { createRedisEngine } from '../../src/hub/redis.ts';
import { startPostgres, type TestPostgres } from './postgres.ts';
import { startRedis, type TestRedis } from './redis.ts';

/**
 * Commits that return before the WAL reaches the disk (PostgreSQL's `synchronous_commit = off`):
 * hub tests with deadlines of tens of ms must not wait for a slow disk's fsync (4 to 5 ms on
 * these machines). The engine does not depend on it; the restart test (test/faults) runs with
 * durable commits, as production does.
 */
const FAST_COMMITS = '-c synchronous_commit=off';

/**
 * How much longer than the memory engine's a time window of a test must be on an engine: a
 * PostgreSQL round trip (a function call, a commit) takes 2 to 50 ms on a loaded 2-core machine,
 * as long as the 50 ms deadlines some tests cut responses at. A Redis round trip is shorter, but
 * a loaded machine stretched a 100 ms window past a whole response (a run that outlived four
 * deadlines failed once so): its windows are three times as long.
 */
export function windowFactor(engineName: string): number {
  return engineName === 'postgres' ? 10 : engineName === 'redis' ? 3 : 1;
}

export function hubEngines(
  prefix: string,
): Record<'memory' | 'redis' | 'postgres', () => HubEngine> {
  let redis: TestRedis;
  let postgres: TestPostgres;
  let schema: string;
  let pool: Pool;
  let engines = 0;
  beforeAll(async () => {
    [redis, postgres] = await Promise.all([startRedis(), startPostgres()]);
    // One schema per file, its tables made once (a few hundred ms): hub tests with deadlines of
    // tens of ms must not wait for DDL. Each engine gets keys of its own in it instead.
    // One pool for the file, its connections opened here: a new PostgreSQL connection costs tens
    // of ms on a loaded machine, as much as these deadlines.
    schema = postgres.schema();
    pool = postgres.pool({ max: 12, idleTimeoutMillis: 0, options: FAST_COMMITS });
    const setup = createPostgresEngine({ pool, schema });
    await setup.getValue('setup');
    await setup.close();
    await Promise.all(Array.from({ length: 12 }, () => pool.query('SELECT 1')));
  });
  afterAll(async () => {
    await Promise.all([redis.stop(), postgres.stop()]);
  });
  const twin = (engine: HubEngine, create: () => HubEngine): HubEngine => {
    instances.set(engine, create);
    return engine;
  };
  const redisEngine = (keys: string): HubEngine =>
    twin(createRedisEngine({ redis: redis.client(), prefix: keys, blockMs: 200 }), () =>
      redisEngine(keys),
    );
  const postgresEngine = (keys: string): HubEngine =>
    twin(prefixed(createPostgresEngine({ pool, schema }), keys), () => postgresEngine(keys));
  return {
    memory: () => {
      const engine = createMemoryEngine();
      return twin(engine, () => ({ ...engine, close: async () => {} }));
    },
    redis: () => redisEngine(`${prefix}:${Date.now()}:${++engines}:`),
    postgres: () => postgresEngine(`${prefix}:${++engines}:`),
  };
}

const instances = new WeakMap<HubEngine, () => HubEngine>();

/**
 * Another instance on the storage of `engine` (made by {@link hubEngines}): its own connections
 * and tails, the same logs and values (the memory engine's is itself, with a `close` that does
 * nothing). Close it as any engine.
 */
export function anotherInstance(engine: HubEngine): HubEngine {
  const create = instances.get(engine);
  if (!create) throw new TypeError('anotherInstance: the engine was not made by hubEngines.');
  return create();
}

/** The engine with every key prefixed: engines that share a schema, each with logs of its own. */
export function prefixed(engine: HubEngine, prefix: string): HubEngine {
  return {
    append: (key, event, options) => engine.append(prefix + key, event, options),
    range: (key, after, count) => engine.range(prefix + key, after, count),
    bounds: (key) => engine.bounds(prefix + key),
    tail: (key, listener, onError) => engine.tail(prefix + key, listener, onError),
    setValue: (key, value, ttlMs) => engine.setValue(prefix + key, value, ttlMs),
    getValue: (key) => engine.getValue(prefix + key),
    publishCancel: (runId) => engine.publishCancel(runId),
    onCancel: (listener) => engine.onCancel(listener),
    close: () => engine.close(),
  };
}
