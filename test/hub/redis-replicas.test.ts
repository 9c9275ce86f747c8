/**
 * `replicas` on the Redis engine: an append is acknowledged once that many replicas hold it
 * (`WAIT`, sent to the append's node). Here, on a standalone redis-server with no replica, it
 * fails with a clear EngineError; the failover test (test/engines/redis-cluster.test.ts) shows
 * it on a cluster.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createRedisEngine, type RedisClientLike } from '../../src/hub/redis.ts';
import { EngineError } from '../../src/index.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';

let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});

test('an append no replica acknowledged in time rejects with an EngineError that says so', async () => {
  const engine = createRedisEngine({
    redis: redis.client(),
    prefix: `replicas:${Date.now()}:`,
    replicas: 1,
    replicaTimeoutMs: 20,
  });
  const error = await engine.append('topic:t', { data: 'x' }).catch((e) => e);
  expect(EngineError.isInstance(error)).toBe(true);
  expect(error.message).toMatch(
    /^Redis WAIT: the append \d+-\d+ of .* reached 0 of 1 replicas within 20 ms\.$/,
  );
  const explicit = await engine.append('run:r:log', { data: 'y' }, { id: '0-1' }).catch((e) => e);
  expect(explicit.message).toMatch(/reached 0 of 1 replicas/);
  await engine.close();
});

test('replicas needs a client with pipeline(); a bad count is a TypeError', () => {
  const client = redis.client();
  const bare: RedisClientLike = {
    call: (command, ...args) => client.call(command, ...args),
    duplicate: () => bare,
    subscribe: (...channels) => client.subscribe(...channels),
    on: () => bare,
    disconnect: () => client.disconnect(),
  };
  expect(() => createRedisEngine({ redis: bare, replicas: 1 })).toThrow(
    /replicas \(1\) needs a client with pipeline\(\)/,
  );
  expect(() => createRedisEngine({ redis: client, replicas: -1 })).toThrow(TypeError);
});
