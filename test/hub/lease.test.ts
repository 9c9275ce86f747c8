/**
 * A producer's liveness lease: renewed while it runs; when its instance stops renewing it (here an
 * engine that drops the renewals, as a killed process would), the run ends once, for every reader
 * on every instance, with an `error` event `producer-lost`: never a hang, never a re-run. A
 * producer that was only paused finds its run ended and is fenced off. (The real thing, with a
 * process killed by SIGKILL, is in test/faults/producer-lost.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type FetchLike, fetchEventStream, type ServerSentEvent } from '../../src/client/index.ts';
import { createHub, createMemoryEngine, type HubEngine } from '../../src/hub/index.ts';
import { createRedisEngine } from '../../src/hub/redis.ts';
import { HubError, ServerError } from '../../src/index.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';

let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});

/** Two instances' engines on one storage. */
const pairs: Record<string, () => [HubEngine, HubEngine, () => Promise<void>]> = {
  memory: () => {
    const engine = createMemoryEngine();
    return [engine, engine, () => engine.close()];
  },
  redis: () => {
    const prefix = `lease:${Date.now()}:${Math.random()}:`;
    const a = createRedisEngine({ redis: redis.client(), prefix, blockMs: 100 });
    const b = createRedisEngine({ redis: redis.client(), prefix, blockMs: 100 });
    return [a, b, async () => void (await Promise.all([a.close(), b.close()]))];
  },
};

/** An engine that stops renewing leases once `die()` is called: the instance is gone. */
function mortal(engine: HubEngine): { engine: HubEngine; die(): void } {
  let dead = false;
  return {
    engine: {
      ...engine,
      setValue: (key, value, ttlMs) =>
        dead && key.startsWith('lease:') ? Promise.resolve() : engine.setValue(key, value, ttlMs),
    },
    die: () => {
      dead = true;
    },
  };
}

const LEASE = { producerLeaseMs: 150, leaseRenewMs: 40 };
/**
 * For the run that must outlive its lease: a lease lapses only when its renewals stall for 550 ms
 * (a loaded two-core machine stalls timers for 100 ms and more; at 150 ms the run was ended).
 */
const LONG_LEASE = { producerLeaseMs: 600, leaseRenewMs: 50 };

describe.each(Object.keys(pairs))('the producer lease on the %s engine', (engineName) => {
  test('renewed while the producer runs: a slow run outlives its lease many times over', async () => {
    const [engineA, , close] = pairs[engineName]!();
    const hub = createHub({ engine: engineA, ...LONG_LEASE, onError: () => {} });
    const fetch: FetchLike = async (input, init) =>
      hub.stream(new Request(input, init), async (run) => {
        for (let index = 1; index <= 4; index++) {
          // Longer than a lease of silence: only the renewals keep the run alive.
          await new Promise((resolve) => setTimeout(resolve, LONG_LEASE.producerLeaseMs + 50));
          await run.send({ data: String(index) });
        }
      });
    const events: ServerSentEvent[] = [];
    const closes: Array<{ reason: string }> = [];
    for await (const event of fetchEventStream('http://hub.test/slow', {
      fetch,
      method: 'POST',
      onClose: (info) => closes.push(info),
    }))
      events.push(event);
    expect(events.map((event) => event.data)).toEqual(['1', '2', '3', '4']);
    expect(closes.map((info) => info.reason)).toEqual(['done']);
    await hub.close();
    await close();
  });

  test('its instance dies: every reader, live or resuming elsewhere, ends with producer-lost, once', async () => {
    const [engineA, engineB, close] = pairs[engineName]!();
    const a = mortal(engineA);
    const hubA = createHub({ engine: a.engine, ...LEASE, onError: () => {} });
    const hubB = createHub({ engine: engineB, ...LEASE, onError: () => {} });
    let zombie: { signal: AbortSignal; send: (n: number) => Promise<void> } | undefined;
    let diedAt = 0;
    const fetchA: FetchLike = async (input, init) =>
      hubA.stream(new Request(input, init), async (run) => {
        for (let index = 1; index <= 10; index++) await run.send({ data: String(index) });
        zombie = { signal: run.signal, send: (n) => run.send({ data: String(n) }) };
        diedAt = Date.now();
        a.die(); // from here on, nobody renews the lease
        await new Promise(() => {}); // and the producer never ends by itself
      });
    const fetchB: FetchLike = async (input, init) => hubB.stream(new Request(input, init), fail);

    // One reader on A's instance; two more resume through B.
    const live: ServerSentEvent[] = [];
    const first = fetchEventStream('http://a.test/chat', {
      fetch: fetchA,
      method: 'POST',
      onEvent: (event) => live.push(event),
    });
    await expect.poll(() => live.length, { timeout: 10_000 }).toBe(10);
    const runId = hubA.runIdOf(live[0]!.id)!;
    const resumed = [`${runId}.5`, `${runId}.10`].map((lastEventId) => {
      const events: ServerSentEvent[] = [];
      const stream = fetchEventStream('http://b.test/chat', {
        fetch: fetchB,
        method: 'POST',
        lastEventId,
        onEvent: (event) => events.push(event),
      });
      return { events, stream };
    });
    const endings = await Promise.all(
      [first, ...resumed.map((reader) => reader.stream)].map((stream) =>
        stream.finished.then(
          () => undefined,
          (error: unknown) => error,
        ),
      ),
    );
    const elapsed = Date.now() - diedAt;
    for (const error of endings) {
      expect(ServerError.isInstance(error)).toBe(true);
      expect((error as ServerError).data).toMatchObject({ code: 'producer-lost' });
      expect((error as ServerError).id).toBe(`${runId}.11`); // one terminal event, the same for all
    }
    expect(resumed[0]!.events.map((event) => event.data)).toEqual(['6', '7', '8', '9', '10']);
    expect(resumed[1]!.events).toEqual([]);
    // Ended by the lease (not by the run's TTL, nor a hang): a window generous enough for a
    // loaded machine's stalled timers and slow round trips, far below anything else that ends it.
    expect(elapsed).toBeLessThan(LEASE.producerLeaseMs + 2_000);
    const log = await engineB.range(`run:${runId}:log`, undefined, 100);
    expect(log.map((entry) => entry.id).at(-1)).toBe('0-11');
    expect(log.filter((entry) => entry.event.event === 'error')).toHaveLength(1);

    // The producer was only paused after all: it finds its run ended, and is fenced off.
    const late = await zombie!.send(11).catch((error: unknown) => error);
    expect(HubError.isInstance(late) && late.code).toBe('producer-lost');
    expect(HubError.isInstance(zombie!.signal.reason) && zombie!.signal.reason.code).toBe(
      'producer-lost',
    );
    expect((await engineB.range(`run:${runId}:log`, undefined, 100)).length).toBe(11);
    // A resume later still ends at once with the same event; a cancel finds the run finished.
    const again = await fetchEventStream('http://b.test/chat', {
      fetch: fetchB,
      method: 'POST',
      lastEventId: `${runId}.10`,
    }).finished.catch((error: unknown) => error);
    expect((again as ServerError).id).toBe(`${runId}.11`);
    expect(await hubB.cancel(runId)).toBe(false);
    await hubA.close();
    await hubB.close();
    await close();
  });
});

function fail(): never {
  throw new Error('a resume never starts the producer');
}
