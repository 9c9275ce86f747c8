/**
 * The hub on Redis through a TCP proxy that cuts every connection every 40 ms: replies that Redis
 * sent are lost on the way, ioredis reconnects and re-sends what was in flight (an `XADD` Redis
 * already executed included). Nothing may be lost, nothing duplicated, and the producer must not
 * fail: appends are idempotent, reads resume where they were.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { type FetchLike, fetchEventStream, type ServerSentEvent } from '../../src/client/index.ts';
import { createHub } from '../../src/hub/index.ts';
import { createRedisEngine } from '../../src/hub/redis.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';

let redis: TestRedis;
let proxy: TcpProxy;
const clients: Redis[] = [];

beforeAll(async () => {
  redis = await startRedis({ own: true });
  proxy = await startTcpProxy(Number(new URL(redis.url).port));
});
afterAll(async () => {
  for (const client of clients) client.disconnect();
  await proxy?.close();
  await redis?.stop();
});

function proxiedClient(): Redis {
  const client = new Redis(proxy.port, '127.0.0.1', {
    retryStrategy: (times) => Math.min(times * 5, 50),
  });
  client.on('error', () => {}); // reconnection noise; commands report their own failures
  clients.push(client);
  return client;
}

test('a run of 2000 events through a proxy cutting Redis every 40 ms: all of them, once, in order', async () => {
  const count = 2000;
  const errors: unknown[] = [];
  const engine = createRedisEngine({
    redis: proxiedClient(),
    prefix: `proxy:${Date.now()}:`,
    blockMs: 200,
    retryDelayMs: 10,
  });
  const hub = createHub({ engine, onError: (error) => errors.push(error) });
  let failure: unknown;
  const fetch: FetchLike = async (input, init) =>
    hub.stream(new Request(input, init), async (run) => {
      try {
        for (let index = 1; index <= count; index++) {
          await run.send({ data: String(index) });
          if (index % 50 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
        }
      } catch (error) {
        failure = error;
        throw error;
      }
      return { sent: count };
    });
  const events: ServerSentEvent[] = [];
  const closes: Array<{ reason: string; event?: ServerSentEvent }> = [];
  proxy.cutEvery(40);
  const cutsBefore = proxy.cuts;
  for await (const event of fetchEventStream('http://hub.test/run', {
    fetch,
    method: 'POST',
    retry: { initialDelayMs: 5, maxDelayMs: 20, maxAttempts: 1000 },
    onClose: (info) => closes.push(info),
  })) {
    events.push(event);
  }
  proxy.cutEvery(0);
  expect(failure).toBeUndefined();
  expect(events.map((event) => Number(event.data))).toEqual(
    Array.from({ length: count }, (_, index) => index + 1),
  );
  expect(new Set(events.map((event) => event.id)).size).toBe(count);
  expect(closes.at(-1)?.reason).toBe('done');
  expect(JSON.parse(closes.at(-1)!.event!.data)).toEqual({ sent: count });
  expect(proxy.cuts - cutsBefore).toBeGreaterThan(5); // the faults really happened
  await hub.close();
  await engine.close();
}, 120_000);

test('a topic through the same proxy: 500 publishes each resolve once, a subscriber gets each once, in order', async () => {
  const count = 500;
  const engine = createRedisEngine({
    redis: proxiedClient(),
    prefix: `proxy-topic:${Date.now()}:`,
    blockMs: 200,
    retryDelayMs: 10,
  });
  const hub = createHub({ engine, onError: () => {} });
  const fetch: FetchLike = async (input, init) => hub.subscribe(new Request(input, init), 'ticks');
  const received: ServerSentEvent[] = [];
  const done = new Promise<void>((resolve, reject) => {
    const stream = fetchEventStream('http://hub.test/ticks', {
      fetch,
      retry: { initialDelayMs: 5, maxDelayMs: 20, maxAttempts: 1000 },
      onEvent: (event) => {
        received.push(event);
        if (event.data === String(count)) {
          stream.close();
          resolve();
        }
      },
    });
    stream.finished.catch(reject);
  });
  await new Promise((resolve) => setTimeout(resolve, 300)); // the subscription's tail is up
  proxy.cutEvery(40);
  const ids: string[] = [];
  for (let index = 1; index <= count; index++) {
    ids.push(await hub.publish('ticks', { data: String(index) }));
    if (index % 25 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await done;
  proxy.cutEvery(0);
  expect(received.map((event) => event.type)).not.toContain('history-lost');
  expect(received.map((event) => Number(event.data))).toEqual(
    Array.from({ length: count }, (_, index) => index + 1),
  );
  expect(received.map((event) => event.id)).toEqual(ids);
  const stored = await engine.range('topic:ticks', undefined, 10_000);
  expect(stored.map((entry) => Number(entry.event.data))).toEqual(
    Array.from({ length: count }, (_, index) => index + 1),
  );
  await hub.close();
  await engine.close();
}, 120_000);
