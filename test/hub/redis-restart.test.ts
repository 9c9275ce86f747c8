/**
 * A Redis restart: an outage is ridden out (the client reconnects and re-sends), one longer than
 * the client's retry budget fails appends with a clear EngineError, and acknowledged events are
 * never lost (the test Redis fsyncs its append-only file on every write). Each step waits for
 * what it needs (Redis down, an append sent, the client ready again), never for a time.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { fetchEventStream, type ServerSentEvent } from '../../src/client/index.ts';
import { createHub } from '../../src/hub/index.ts';
import { createRedisEngine } from '../../src/hub/redis.ts';
import { EngineError } from '../../src/index.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';

let redis: TestRedis;
const clients: Redis[] = [];
beforeAll(async () => {
  redis = await startRedis({ own: true }); // it kills and restarts the server
});
afterAll(async () => {
  for (const client of clients) client.disconnect();
  await redis.stop();
});

function client(options: RedisOptions = {}): Redis {
  const instance = new Redis(redis.url, { retryStrategy: () => 50, ...options } as never);
  instance.on('error', () => {});
  clients.push(instance);
  return instance;
}

/** Resolves once the client is connected (a failed reconnection attempt meanwhile is no failure). */
function ready(connection: Redis): Promise<void> {
  if (connection.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => connection.once('ready', () => resolve()));
}

/** A promise to resolve from outside, for a step the test waits for. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

test('a run streams through a Redis restart without losing or duplicating an event', async () => {
  // Commands wait for Redis to come back however long the restart takes (ioredis'
  // `maxRetriesPerRequest: null`, as docs/hub.md advises): nothing here depends on how fast the
  // machine restarts redis-server. The lease is long for the same reason: it is not the subject.
  const engine = createRedisEngine({
    redis: client({ maxRetriesPerRequest: null }),
    prefix: `restart:${Date.now()}:`,
    blockMs: 200,
    retryDelayMs: 20,
  });
  const hub = createHub({ engine, onError: () => {}, producerLeaseMs: 600_000 });
  const stored = deferred(); // the first 10 events are stored (their appends resolved)
  const down = deferred(); // Redis was killed
  const sentWhileDown = deferred(); // the 11th append went out with Redis down
  const fetch = async (input: string | URL | Request, init?: RequestInit) =>
    hub.stream(new Request(input, init), async (run) => {
      for (let index = 1; index <= 40; index++) {
        if (index === 11) {
          stored.resolve();
          await down.promise;
        }
        const sent = run.send({ data: String(index) });
        if (index === 11) sentWhileDown.resolve();
        await sent;
      }
    });
  const events: ServerSentEvent[] = [];
  for await (const event of fetchEventStream('http://hub.test/run', { fetch, method: 'POST' })) {
    events.push(event);
    if (events.length === 10) {
      await stored.promise;
      await redis.kill();
      down.resolve();
      await sentWhileDown.promise;
      await redis.start();
    }
  }
  const runId = hub.runIdOf(events[0]!.id);
  expect(events.map((event) => event.data)).toEqual(
    Array.from({ length: 40 }, (_, index) => String(index + 1)),
  );
  expect(events.map((event) => event.id)).toEqual(
    Array.from({ length: 40 }, (_, index) => `${runId}.${index + 1}`),
  );
  await hub.close();
  await engine.close();
}, 30_000);

test('appends fail with a clear EngineError while Redis is down, and work again after', async () => {
  const connection = client({ maxRetriesPerRequest: 1, enableOfflineQueue: false });
  await ready(connection);
  const engine = createRedisEngine({ redis: connection, prefix: `down:${Date.now()}:` });
  const key = 'log';
  const id = await engine.append(key, { data: 'acknowledged' });
  await redis.kill();
  const error = await engine.append(key, { data: 'lost?' }).catch((e) => e);
  expect(EngineError.isInstance(error)).toBe(true);
  expect(error.code).toBe('engine-error');
  expect(error.message).toMatch(/^Redis XADD failed: /);
  await redis.start();
  await ready(connection); // reconnected
  const after = await engine.append(key, { data: 'after' });
  const entries = await engine.range(key, undefined, 10);
  expect(entries).toEqual([
    { id, event: { data: 'acknowledged' } },
    { id: after, event: { data: 'after' } },
  ]);
  await engine.close();
}, 30_000);
