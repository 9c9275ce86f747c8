/**
 * Module-scope construction is free of I/O, timers and randomness (workerd refuses them in global
 * scope: "Disallowed operation called within global scope"), for every engine: importing the hub
 * and calling `createHub()` at module scope, as the README's quick start does, touches none of
 * them. The work happens on first use.
 */
import { afterEach, beforeEach, expect, test, vi } from 'vitest';
import type { RedisClientLike } from '../../src/hub/redis.ts';

const spies: Array<{ name: string; spy: { mock: { calls: unknown[][] } } }> = [];
beforeEach(() => {
  vi.resetModules();
  const watch = <T extends object>(target: T, name: keyof T & string, label: string = name) => {
    spies.push({ name: label, spy: vi.spyOn(target, name as never) as never });
  };
  watch(globalThis, 'setTimeout');
  watch(globalThis, 'setInterval');
  watch(globalThis, 'setImmediate');
  watch(globalThis, 'fetch');
  watch(globalThis.crypto, 'getRandomValues', 'crypto.getRandomValues');
  watch(globalThis.crypto, 'randomUUID', 'crypto.randomUUID');
  watch(Math, 'random', 'Math.random');
});
afterEach(() => {
  vi.restoreAllMocks();
  spies.length = 0;
});

const called = () => spies.filter(({ spy }) => spy.mock.calls.length > 0).map(({ name }) => name);

/** A Redis client that records every use (none is allowed at construction). */
function recordingRedis(uses: string[]): RedisClientLike {
  const client: RedisClientLike = {
    call: async (command) => {
      uses.push(command);
      return null;
    },
    duplicate: () => {
      uses.push('duplicate');
      return client;
    },
    subscribe: async () => uses.push('subscribe'),
    on: () => uses.push('on'),
    disconnect: () => uses.push('disconnect'),
  };
  return client;
}

test('importing the hub and constructing hubs on both engines calls no timer, no random source, no I/O', async () => {
  const { createHub, createMemoryEngine } = await import('../../src/hub/index.ts');
  const { createRedisEngine } = await import('../../src/hub/redis.ts');
  const uses: string[] = [];
  const hubs = [
    createHub(),
    createHub({ engine: createMemoryEngine({ sweepIntervalMs: 1_000 }) }),
    createHub({
      engine: createRedisEngine({ redis: recordingRedis(uses) }),
      producerLeaseMs: 1_000,
      retention: { maxEvents: 10 },
    }),
  ];
  expect(called()).toEqual([]);
  expect(uses).toEqual([]);
  expect(hubs).toHaveLength(3);
});

test('the deferred work happens on first use: a memory hub works after a module-scope construction', async () => {
  const { createHub } = await import('../../src/hub/index.ts');
  const hub = createHub();
  expect(called()).toEqual([]);
  const response = await hub.stream(
    new Request('http://hub.test/run', { method: 'POST' }),
    async (run) => {
      await run.send({ data: 'hello' });
    },
  );
  const text = await response.text();
  expect(text).toMatch(
    /^id: [A-Za-z0-9_-]{22}\.1\ndata: hello\n\nevent: done\nid: [A-Za-z0-9_-]{22}\.2\ndata: \{\}\n\n$/,
  );
  expect(called()).toContain('crypto.getRandomValues'); // the run id, made at the first run
  await hub.close();
});

test('the Durable Object engine: constructing it and a hub on it calls no object, timer or random source', async () => {
  const { createHub } = await import('../../src/hub/index.ts');
  const { createDurableObjectEngine } = await import('../../src/hub/durable-object.ts');
  const uses: string[] = [];
  const namespace = {
    idFromName: (name: string) => {
      uses.push(`idFromName ${name}`);
      return name;
    },
    get: () => {
      uses.push('get');
      return { fetch: async () => new Response('{}') };
    },
  };
  const hub = createHub({ engine: createDurableObjectEngine({ namespace }) });
  expect(called()).toEqual([]);
  expect(uses).toEqual([]);
  expect(hub.engine).toBeDefined();
  expect(() => createDurableObjectEngine({ namespace: {} as never })).toThrow(
    /namespace must be a Durable Object namespace binding of the HubObject class/,
  );
});
