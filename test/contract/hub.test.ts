/**
 * The hub carries the same contract: a run's writer is typed and checked (a violation ends the run
 * with its `error` event), a resumed response yields the same typed events, and a topic's publish
 * is checked before anything is stored.
 */
import { afterEach, expect, test } from 'vitest';
import { z } from 'zod';
import { fetchContractStream } from '../../src/client/index.ts';
import { defineContract } from '../../src/contract/index.ts';
import { createHub, type Hub } from '../../src/hub/index.ts';
import { type ContractError, ServerError } from '../../src/index.ts';

const jobs = defineContract({
  step: z.object({ n: z.number().int() }),
  done: z.object({ steps: z.number() }),
});

let hub: Hub | undefined;
afterEach(() => hub?.close());

test('a run under a contract: typed events, resumed from an id, the done payload as result', async () => {
  const errors: unknown[] = [];
  hub = createHub({ onError: (error) => errors.push(error) });
  const run = hub;
  const fetch = async (input: string | URL | Request, init?: RequestInit) =>
    run.stream(
      new Request(input, init),
      async (writer) => {
        for (let n = 1; n <= 3; n++) await writer.send({ event: 'step', data: { n } });
        return { steps: 3 };
      },
      { contract: jobs, heartbeatMs: 0 },
    );
  const first = fetchContractStream('http://x/job', { contract: jobs, fetch, method: 'POST' });
  const seen: number[] = [];
  for await (const event of first) {
    seen.push(event.data.n);
    if (event.data.n === 2) break;
  }
  // resume after the second event, as a reconnecting client would
  const resumed = fetchContractStream('http://x/job', {
    contract: jobs,
    fetch,
    method: 'POST',
    lastEventId: first.lastEventId,
  });
  for await (const event of resumed) seen.push(event.data.n);
  expect(seen).toEqual([1, 2, 3]);
  expect(await resumed.result).toEqual({ steps: 3 });
  expect(errors).toEqual([]);
});

test('a violation in a run ends it with its error event; onError gets the ContractError', async () => {
  const errors: unknown[] = [];
  hub = createHub({ onError: (error) => errors.push(error) });
  const response = await hub.stream(
    new Request('http://x/job', { method: 'POST' }),
    async function* () {
      yield { event: 'step' as const, data: { n: 1 } };
      yield { event: 'step' as const, data: { n: 1.5 } };
      return { steps: 2 };
    },
    { contract: jobs, heartbeatMs: 0 },
  );
  const stream = fetchContractStream('http://x/', {
    contract: jobs,
    fetch: async () => response,
    retry: false,
  });
  const seen: unknown[] = [];
  const failure = await (async () => {
    for await (const event of stream) seen.push(event.data);
  })().catch((error: unknown) => error);
  expect(seen).toEqual([{ n: 1 }]);
  expect(ServerError.isInstance(failure)).toBe(true);
  expect((errors[0] as ContractError).code).toBe('contract-violation');
  expect((errors[0] as ContractError).issues[0]?.path).toEqual(['n']);
});

test('publish under a contract checks before storing; a violation rejects and stores nothing', async () => {
  hub = createHub();
  const topics = hub;
  const ticks = defineContract({ tick: z.object({ at: z.number() }) });
  const events: unknown[] = [];
  let opened!: () => void;
  const open = new Promise<void>((resolve) => (opened = resolve));
  const stream = fetchContractStream('http://x/clock', {
    contract: ticks,
    fetch: async (input, init) =>
      topics.subscribe(new Request(input, init), 'clock', { heartbeatMs: 0 }),
    onOpen: () => opened(),
    onEvent: (event) => {
      events.push(event.data);
      if (event.data.at === 2) stream.close();
    },
  });
  await open;
  await expect(
    // @ts-expect-error at must be a number
    hub.publish('clock', { event: 'tick', data: { at: 'now' } }, { contract: ticks }),
  ).rejects.toMatchObject({ code: 'contract-violation', event: 'tick' });
  await expect(
    // @ts-expect-error not in the contract
    hub.publish('clock', { event: 'tock', data: { at: 2 } }, { contract: ticks }),
  ).rejects.toThrow('Event "tock" is not in the contract (its events: tick).');
  for (const at of [1, 2]) {
    expect(
      await hub.publish('clock', { event: 'tick', data: { at } }, { contract: ticks }),
    ).toMatch(/^\d+-\d+$/);
  }
  await stream.finished;
  expect(events).toEqual([{ at: 1 }, { at: 2 }]); // what the topic holds: the valid ticks only
});
