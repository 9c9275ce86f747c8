/**
 * Closing the Redis engine while its connections are still being set up: nothing may reject
 * unhandled (Node ends a process on an unhandled rejection). The cancel channel's subscription,
 * made on the first cancel listener, used to reject with "Connection is closed." when the engine
 * closed before it was made: an unhandled rejection, caught by CI in a hub test.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createRedisEngine } from '../../src/hub/redis.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';

let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(() => redis.stop());

test('an engine closed right after its first cancel listener leaves no unhandled rejection', async () => {
  const unhandled: unknown[] = [];
  const record = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', record);
  try {
    for (let round = 0; round < 10; round++) {
      const engine = createRedisEngine({ redis: redis.client() });
      const stop = engine.onCancel(() => {});
      await engine.close();
      stop();
    }
    // Node reports an unhandled rejection once the microtask queue is empty after it.
    await new Promise((resolve) => setTimeout(resolve, 50));
  } finally {
    process.off('unhandledRejection', record);
  }
  expect(unhandled).toEqual([]);
});
