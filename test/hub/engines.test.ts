import { afterAll, beforeAll } from 'vitest';
import { createMemoryEngine } from '../../src/hub/index.ts';
import { createPostgresEngine } from '../../src/hub/postgres.ts';
import { createRedisEngine } from '../../src/hub/redis.ts';
import { startPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { engineConformance } from './engine-conformance.ts';

// Two memory engines do not share storage, so the memory factory hands out one shared engine
// (closing it is idempotent for this suite's purposes).
const memory = createMemoryEngine();
engineConformance('memory', {
  create: async () => ({ ...memory, close: async () => {} }),
  synchronousTails: true,
});

let redis: TestRedis;
let postgres: TestPostgres;
let schema: string;
beforeAll(async () => {
  [redis, postgres] = await Promise.all([startRedis(), startPostgres()]);
  schema = postgres.schema();
});
afterAll(async () => {
  await memory.close();
  await Promise.all([redis.stop(), postgres.stop()]);
});

engineConformance('redis', {
  create: async () =>
    createRedisEngine({ redis: redis.client(), prefix: 'conformance:', blockMs: 200 }),
});

// Engines on one schema share their storage: two instances of one application.
engineConformance('postgres', {
  create: async () => createPostgresEngine({ pool: postgres.pool(), schema }),
});
