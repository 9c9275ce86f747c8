/**
 * The engines a hub suite runs on, each fresh per call: the memory engine, and the Redis engine on
 * a real redis-server that the suite starts (and stops) around its tests.
 */
import { afterAll, beforeAll } from 'vitest';
import { createMemoryEngine, type HubEngine } from '../../src/hub/index.ts';
import { createRedisEngine } from '../../src/hub/redis.ts';
import { startRedis, type TestRedis } from './redis.ts';

export function hubEngines(prefix: string): Record<'memory' | 'redis', () => HubEngine> {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });
  return {
    memory: () => createMemoryEngine(),
    redis: () =>
      createRedisEngine({
        redis: redis.client(),
        prefix: `${prefix}:${Date.now()}:`,
        blockMs: 200,
      }),
  };
}
