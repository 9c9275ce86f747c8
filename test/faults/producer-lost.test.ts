/**
 * Two instance processes on one Redis: a run's producer on A, a reader that resumes through B with
 * Last-Event-ID, and A killed with SIGKILL (a recycled serverless instance, a deploy, an
 * out-of-memory kill) after 10 of 100 events. The reader must get a typed `producer-lost` error
 * within the lease, not heartbeats forever; and the run must not be started again anywhere.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { fetchEventStream, type ServerSentEvent } from '../../src/client/index.ts';
import { ServerError } from '../../src/index.ts';
import { type Instance, startInstance } from '../helpers/instances.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';

let redis: TestRedis;
const instances: Instance[] = [];
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await Promise.all(instances.map((instance) => instance.kill()));
  await redis.stop();
});

const LEASE_MS = 1_000;
const RENEW_MS = 200;

test('the producer instance is killed after 10 of 100 events: the reader on B gets producer-lost, bounded by the lease', async () => {
  const env = {
    REDIS_URL: redis.url,
    PREFIX: `lost:${Date.now()}:`,
    TOKENS: '100',
    INTERVAL_MS: '20',
    LEASE_MS: String(LEASE_MS),
    RENEW_MS: String(RENEW_MS),
    HEARTBEAT_MS: '100', // heartbeats must not keep a dead run open
  };
  const [a, b] = await Promise.all([
    startInstance({ ...env, NAME: 'A' }),
    startInstance({ ...env, NAME: 'B' }),
  ]);
  instances.push(a, b);

  const events: ServerSentEvent[] = [];
  for await (const event of fetchEventStream(`${a.url}/chat`, { json: { prompt: 'hi' } })) {
    events.push(event);
    if (events.length === 3) break; // the client leaves; the run goes on, detached, on A
  }
  let killedAt = 0;
  let requests = 0;
  const error = await (async () => {
    for await (const event of fetchEventStream(`${b.url}/chat`, {
      lastEventId: events.at(-1)!.id,
      retry: { initialDelayMs: 10, maxDelayMs: 50 },
      onOpen: () => void requests++,
    })) {
      events.push(event);
      if (events.length === 10) {
        killedAt = Date.now();
        await a.kill();
      }
    }
  })().catch((e: unknown) => e);
  const waited = Date.now() - killedAt;

  expect(ServerError.isInstance(error)).toBe(true);
  expect((error as ServerError).data).toEqual({
    message: 'The run stopped: the instance running its producer was lost. Start a new request.',
    code: 'producer-lost',
  });
  const indexes = events.map((event) => JSON.parse(event.data).index as number);
  expect(indexes.slice(0, 10)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  expect(indexes).toEqual(Array.from({ length: indexes.length }, (_, index) => index + 1));
  expect(indexes.length).toBeLessThan(100);
  expect(events.every((event) => JSON.parse(event.data).by === 'A')).toBe(true); // never re-run
  const runId = events[0]!.id.split('.')[0]!;
  expect((error as ServerError).id).toBe(`${runId}.${indexes.length + 1}`);
  expect(requests).toBe(1);
  // Lapse (at most the lease after the last renewal) plus one reader check, plus slack.
  expect(waited).toBeLessThan(LEASE_MS + RENEW_MS + 1_500);
  console.log(
    `producer-lost ${waited} ms after SIGKILL (lease ${LEASE_MS} ms, renew ${RENEW_MS} ms)`,
  );

  // Another reader, later, on B: the same terminal event at once; a cancel answers 409.
  const again = await fetchEventStream(`${b.url}/chat`, {
    lastEventId: `${runId}.5`,
  }).finished.catch((e: unknown) => e);
  expect((again as ServerError).id).toBe(`${runId}.${indexes.length + 1}`);
  const cancel = await fetch(`${b.url}/cancel?runId=${runId}`, { method: 'POST' });
  expect(cancel.status).toBe(409);
}, 30_000);
