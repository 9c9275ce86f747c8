/**
 * A Redis restart: a short outage is ridden out (the client reconnects and re-sends), a long one
 * fails appends with a clear EngineError, and acknowledged events are never lost (the test Redis
 * fsyncs its append-only file on every write).
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

test('a run streams through a Redis restart without losing or duplicating an event', async () => {
  const engine = createRedisEngine({
    redis: client(),
    prefix: `restart:${Date.now()}:`,
    blockMs: 200,
    retryDelayMs: 20,
  });
  const hub = createHub({ engine, onError: () => {} });
  const fetch = async (input: string | URL | Request, init?: RequestInit) =>
    hub.stream(new Request(input, init), async (run) => {
      for (let index = 1; index <= 40; index++) {
        await run.send({ data: String(index) });
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    });
  const events: ServerSentEvent[] = [];
  let restarted: Promise<void> | undefined;
  for await (const event of fetchEventStream('http://hub.test/run', {
    fetch,
    method: 'POST',
    idleTimeoutMs: 5_000,
  })) {
    events.push(event);
    if (events.length === 10) restarted = redis.restart();
  }
  await restarted;
  expect(events.map((event) => event.data)).toEqual(
    Array.from({ length: 40 }, (_, index) => String(index + 1)),
  );
  await hub.close();
  await engine.close();
}, 30_000);

test('appends fail with a clear EngineError while Redis is down, and work again after', async () => {
  const connection = client({ maxRetriesPerRequest: 1, enableOfflineQueue: false });
  await new Promise((resolve) => connection.once('ready', resolve));
  const engine = createRedisEngine({ redis: connection, prefix: `down:${Date.now()}:` });
  const key = 'log';
  const id = await engine.append(key, { data: 'acknowledged' });
  await redis.kill();
  const error = await engine.append(key, { data: 'lost?' }).catch((e) => e);
  expect(EngineError.isInstance(error)).toBe(true);
  expect(error.code).toBe('engine-error');
  expect(error.message).toMatch(/^Redis XADD failed: /);
  await redis.start();
  await expect
    .poll(
      () =>
        engine.append(key, { data: 'after' }).then(
          () => true,
          () => false,
        ),
      { timeout: 5_000 },
    )
    .toBe(true);
  const entries = await engine.range(key, undefined, 10);
  expect(entries[0]).toEqual({ id, event: { data: 'acknowledged' } });
  expect(entries.map((entry) => entry.event.data)).not.toContain('lost?');
  await engine.close();
}, 30_000);
