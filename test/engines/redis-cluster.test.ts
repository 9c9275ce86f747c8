import { afterAll, beforeAll } from 'vitest';
import { createRedisEngine } from '../../src/hub/redis.ts';
import { startRedisCluster, type TestRedisCluster } from '../helpers/redis-cluster.ts';
import { engineConformance } from '../hub/engine-conformance.ts';

let cluster: TestRedisCluster;
beforeAll(async () => {
  cluster = await startRedisCluster();
});
afterAll(async () => {
  await cluster?.stop();
});

engineConformance('redis cluster', {
  create: async () =>
    createRedisEngine({ redis: cluster.client(), prefix: 'conformance:', blockMs: 200 }),
});
