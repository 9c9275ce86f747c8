import { afterAll, beforeAll } from 'vitest';
import { createMemoryEngine } from '../../src/hub/index.ts';
import { createRedisEngine } from '../../src/hub/redis.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { engineConformance } from './engine-conformance.ts';

// Two memory engines do not share storage, so the memory factory hands out one shared engine
// (closing it is idempotent for this suite's purposes).
const memory = createMemoryEngine();
engineConformance('memory', {
  create: async () => ({ ...memory, close: async () => {} }),
});

let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await memory.close();
  await redis.stop();
});

engineConformance('redis', {
  create: async () =>
    createRedisEngine({ redis: redis.client(), prefix: 'conformance:', blockMs: 200 }),
});
