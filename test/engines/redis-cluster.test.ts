import { afterAll, beforeAll, expect, test } from 'vitest';
import { fetchEventStream, type ServerSentEvent } from '../../src/client/index.ts';
import { createHub } from '../../src/hub/index.ts';
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

engineConformance('redis cluster, appends acknowledged by a replica', {
  create: async () =>
    createRedisEngine({
      redis: cluster.client(),
      prefix: 'conformance-replicas:',
      blockMs: 200,
      replicas: 1,
      replicaTimeoutMs: 5_000,
    }),
});

/** A promise to resolve from outside, for a step the test waits for. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

test('a run streams through a failover of the master serving its log: nothing acknowledged is lost', async () => {
  const prefix = `failover:${Date.now()}:`;
  const engine = createRedisEngine({
    redis: cluster.client({ redisOptions: { maxRetriesPerRequest: null } }),
    prefix,
    blockMs: 200,
    retryDelayMs: 20,
    replicas: 1, // acknowledged once the replica holds it: what the failover promotes
    replicaTimeoutMs: 5_000,
  });
  const hub = createHub({ engine, onError: () => {}, producerLeaseMs: 600_000 });
  const acknowledged: string[] = [];
  const stored = deferred(); // the first 10 events are stored (their appends resolved)
  const failedOver = deferred(); // the master died and its replica took over
  let runId = '';
  const fetch = async (input: string | URL | Request, init?: RequestInit) =>
    hub.stream(new Request(input, init), async (run) => {
      runId = run.runId;
      for (let index = 1; index <= 40; index++) {
        if (index === 11) {
          stored.resolve();
          await failedOver.promise;
        }
        await run.send({ data: String(index) });
        acknowledged.push(String(index));
      }
    });
  const events: ServerSentEvent[] = [];
  for await (const event of fetchEventStream('http://hub.test/run', { fetch, method: 'POST' })) {
    events.push(event);
    if (events.length === 10) {
      await stored.promise;
      const key = `${prefix}{run:${runId}:log}`;
      const master = await cluster.masterOf(key);
      await cluster.kill(master);
      await cluster.failedOver(key, master);
      // Back as a replica of the new master: appends can be acknowledged by a replica again.
      await cluster.restart(master);
      failedOver.resolve();
    }
  }
  expect(acknowledged).toHaveLength(40);
  expect(events.map((event) => event.data)).toEqual(acknowledged);
  expect(events.map((event) => event.id)).toEqual(
    Array.from({ length: 40 }, (_, index) => `${runId}.${index + 1}`),
  );
  // What the new master holds: every acknowledged event, once, then `done`.
  const log = await engine.range(`run:${runId}:log`, undefined, 100);
  expect(log.map((entry) => entry.event.data)).toEqual([...acknowledged, '{}']);
  await hub.close();
  await engine.close();
}, 120_000);
