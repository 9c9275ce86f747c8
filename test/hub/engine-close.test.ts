/**
 * Closing an engine while its connections are still being set up (a cancel listener's
 * subscription, a tail's first read): nothing may reject unhandled, which would end a Node
 * process. The Redis engine's cancel-channel subscription did ("Connection is closed."), caught by
 * CI in a hub test; every engine is held to it here.
 */
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createPostgresEngine } from '../../src/hub/postgres.ts';
import { createRedisEngine } from '../../src/hub/redis.ts';
import { hubEngines } from '../helpers/hub-engines.ts';
import { startPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';

const engines = hubEngines('engine-close');

test.each(Object.entries(engines))(
  '%s: an engine closed right after its first listeners leaves no unhandled rejection',
  async (_name, make) => {
    const unhandled: unknown[] = [];
    const record = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', record);
    const readies: Promise<void>[] = [];
    try {
      for (let round = 0; round < 10; round++) {
        const engine = make();
        const stop = engine.onCancel(() => {});
        const tail = engine.tail(
          `close-${round}`,
          () => {},
          () => {},
        );
        readies.push(tail.ready);
        await engine.close();
        tail.close();
        stop();
      }
      // Each tail's setup (its connection, its first read) settles on its own time, after the
      // close.
      await settled(readies);
    } finally {
      process.off('unhandledRejection', record);
    }
    expect(unhandled).toEqual([]);
  },
);

/** Waits until none of these promises is pending, without a handler (which would hide a rejection). */
async function settled(promises: Promise<unknown>[]): Promise<void> {
  const started = Date.now();
  while (promises.some((promise) => inspect(promise).includes('<pending>'))) {
    if (Date.now() - started > 10_000) throw new Error('a promise never settled');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  // Node reports an unhandled rejection once the microtask queue is empty after it.
  await new Promise((resolve) => setTimeout(resolve, 10));
}

/** Runs `body` and returns the unhandled rejections of the process meanwhile. */
async function unhandledDuring(body: () => Promise<void>): Promise<unknown[]> {
  const unhandled: unknown[] = [];
  const record = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', record);
  try {
    await body();
  } finally {
    process.off('unhandledRejection', record);
  }
  return unhandled;
}

describe('a shutdown: the engine closed, then its pool or client, while tails start', () => {
  let redis: TestRedis;
  let postgres: TestPostgres;
  beforeAll(async () => {
    [redis, postgres] = await Promise.all([startRedis(), startPostgres()]);
  });
  afterAll(async () => {
    await Promise.all([redis?.stop(), postgres?.stop()]);
  });

  test('postgres: the pool ended right after the engine: no query on it, nothing unhandled', async () => {
    const schema = postgres.schema();
    const setup = postgres.pool({ max: 2 });
    const tables = createPostgresEngine({ pool: setup, schema });
    await tables.getValue('setup'); // its tables, made once (at the first use)
    await tables.close();
    await setup.end();
    const unhandled = await unhandledDuring(async () => {
      for (let round = 0; round < 10; round++) {
        const pool = postgres.pool({ max: 4 });
        const engine = createPostgresEngine({ pool, schema, createTables: false });
        const tail = engine.tail(`shutdown-${round}`, () => {});
        await engine.close();
        await pool.end();
        await settled([tail.ready]);
        // Stopped before its first read: it made none (a query on the ended pool rejects).
        await expect(tail.ready).resolves.toBeUndefined();
        tail.close();
      }
    });
    expect(unhandled).toEqual([]);
  });

  test('redis: a tail closed while it reads its start opens no connection of its own', async () => {
    const probe = redis.client();
    const clients = async () =>
      String(await probe.call('CLIENT', 'LIST'))
        .split('\n')
        .filter((line) => line.trim() !== '').length;
    const before = await clients();
    const client = redis.client();
    await client.ping();
    const engine = createRedisEngine({ redis: client });
    const unhandled = await unhandledDuring(async () => {
      for (let round = 0; round < 10; round++) {
        const tail = engine.tail(`shutdown-${round}`, () => {});
        tail.close(); // before its first read (XREVRANGE) answered
        await settled([tail.ready]);
      }
      await engine.close();
    });
    expect(unhandled).toEqual([]);
    // The engine's own client, and nothing more.
    expect(await clients()).toBe(before + 1);
  });
});
