/**
 * Nothing is stored that a reader could not send: `run.send` and `hub.publish` refuse what the
 * encoder would refuse, with a `TypeError` at once (as `createEventStream`'s `send` does). And an
 * entry that cannot be encoded anyway (written by an older version, or by hand) is skipped and
 * reported, never a cut that every resume meets again.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { type FetchLike, fetchEventStream, type ServerSentEvent } from '../../src/client/index.ts';
import { createHub, type Hub, type HubEngine } from '../../src/hub/index.ts';
import { HubError } from '../../src/index.ts';
import { hubEngines } from '../helpers/hub-engines.ts';

const engines: Record<string, () => HubEngine> = hubEngines('hub-poison');
const RUN = 'PoisonPoisonPoison0000';

function handlerFetch(handler: (request: Request) => Promise<Response>): FetchLike {
  return async (input, init) => handler(new Request(input, init));
}

async function collect(iterable: AsyncIterable<ServerSentEvent>): Promise<ServerSentEvent[]> {
  const events: ServerSentEvent[] = [];
  for await (const event of iterable) events.push(event);
  return events;
}

const BAD_EVENTS: Array<[string, unknown]> = [
  ['a line break in the name', { event: 'ok\nevent: forged', data: 'x' }],
  ['a CR in the name', { event: 'ok\rdata: forged', data: 'x' }],
  ['a name that is not a string', { event: 42, data: 'x' }],
  ['an id with a line break', { id: '1\nevent: forged', data: 'x' }],
  ['an id with NUL', { id: '1\u0000', data: 'x' }],
  ['data that JSON cannot hold', { data: 10n }],
  ['a function as data', { data: () => 1 }],
  ['not an object', 'data: forged'],
];

describe.each(Object.keys(engines))('poison on the %s engine', (engineName) => {
  let hub: Hub;
  let engine: HubEngine;
  const errors: unknown[] = [];
  afterEach(async () => {
    await hub?.close();
    await engine?.close();
    errors.length = 0;
  });
  const makeHub = () => {
    engine = engines[engineName]!();
    hub = createHub({ engine, onError: (error) => errors.push(error) });
    return hub;
  };

  test('run.send refuses what the encoder refuses, at once, storing nothing; the run goes on', async () => {
    makeHub();
    const refusals: string[] = [];
    const fetch = handlerFetch((request) =>
      hub.stream(request, async (run) => {
        await run.send({ data: 'before' });
        for (const [what, event] of BAD_EVENTS) {
          try {
            void run.send(event as never); // synchronous, as createEventStream's send
            refusals.push(`${what}: accepted`);
          } catch (error) {
            refusals.push(`${what}: ${(error as Error).name}`);
          }
        }
        await run.send({ event: 'ok', data: 'after' });
        return 'end';
      }),
    );
    const closes: Array<{ event?: ServerSentEvent }> = [];
    const events = await collect(
      fetchEventStream('http://hub.test/run', {
        fetch,
        method: 'POST',
        onClose: (info) => closes.push(info),
      }),
    );
    expect(refusals).toEqual(BAD_EVENTS.map(([what]) => `${what}: TypeError`));
    const runId = hub.runIdOf(events[0]!.id)!;
    expect(events.map((event) => [event.id, event.type, event.data])).toEqual([
      [`${runId}.1`, 'message', 'before'],
      [`${runId}.2`, 'ok', 'after'],
    ]);
    expect(closes[0]?.event).toMatchObject({ type: 'done', data: 'end', id: `${runId}.3` });
    expect(errors).toEqual([]);
  });

  test('hub.publish refuses the same, storing nothing; subscribers are not cut', async () => {
    makeHub();
    for (const [, event] of BAD_EVENTS) {
      expect(() => hub.publish('news', event as never)).toThrow(TypeError);
    }
    expect(await engine.range('topic:news', undefined, 10)).toEqual([]);
    const message = (() => {
      try {
        hub.publish('news', { event: 'ok\nevent: forged', data: 'x' });
      } catch (error) {
        return (error as Error).message;
      }
    })();
    expect(message).toMatch(/^hub\.publish: `event` must not contain CR or LF/);
  });

  test('a run log entry that cannot be encoded is skipped and reported; done still arrives, on every resume', async () => {
    makeHub();
    const key = `run:${RUN}:log`;
    await engine.append(key, { data: 'one' }, { id: '0-1' });
    await engine.append(key, { event: 'bad\nevent: forged', data: 'two' }, { id: '0-2' });
    await engine.append(key, { data: 'three' }, { id: '0-3' });
    await engine.append(key, { event: 'done', data: '{}' }, { id: '0-4' });
    await engine.setValue(`run:${RUN}`, 'finished', 60_000);
    const fetch = handlerFetch((request) => hub.stream(request, async () => {}));
    for (const lastEventId of [`${RUN}.0`, `${RUN}.1`, `${RUN}.2`]) {
      const closes: Array<{ reason: string; event?: ServerSentEvent }> = [];
      const events = await collect(
        fetchEventStream('http://hub.test/run', {
          fetch,
          method: 'POST',
          lastEventId,
          onClose: (info) => closes.push(info),
        }),
      );
      expect(events.map((event) => event.data)).toEqual(
        lastEventId.endsWith('.2')
          ? ['three']
          : lastEventId.endsWith('.1')
            ? ['three']
            : ['one', 'three'],
      );
      expect(closes.map((close) => [close.reason, close.event?.id])).toEqual([
        ['done', `${RUN}.4`],
      ]);
    }
    expect(errors.length).toBe(2); // reported by the two readers that met it
    expect(
      errors.every((error) => HubError.isInstance(error) && error.code === 'invalid-entry'),
    ).toBe(true);
  });

  test('a topic entry that cannot be encoded is skipped for live, filtered and replaying subscribers', async () => {
    makeHub();
    const plain: ServerSentEvent[] = [];
    const filtered: ServerSentEvent[] = [];
    const fetch = handlerFetch((request) =>
      new URL(request.url).searchParams.has('filter')
        ? hub.subscribe(request, 'news', { filter: (event) => event.data !== 'skip me' })
        : hub.subscribe(request, 'news'),
    );
    let opened = 0;
    const onOpen = () => void opened++;
    const a = fetchEventStream('http://hub.test/news', {
      fetch,
      onEvent: (e) => plain.push(e),
      onOpen,
    });
    const b = fetchEventStream('http://hub.test/news?filter', {
      fetch,
      onEvent: (e) => filtered.push(e),
      onOpen,
    });
    // Subscribed (hub.subscribe resolved): every event appended from now on reaches both.
    await expect.poll(() => opened).toBe(2);
    const first = await hub.publish('news', { data: 'one' });
    await engine.append(
      'topic:news',
      { event: 'bad\nevent: forged', data: 'two' },
      { maxLen: 1000 },
    );
    await hub.publish('news', { data: 'three' });
    await expect.poll(() => plain.length + filtered.length, { timeout: 5_000 }).toBe(4);
    expect(plain.map((event) => event.data)).toEqual(['one', 'three']);
    expect(filtered.map((event) => event.data)).toEqual(['one', 'three']);
    a.close();
    b.close();
    const replayed: ServerSentEvent[] = [];
    const c = fetchEventStream('http://hub.test/news', {
      fetch,
      lastEventId: first,
      onEvent: (e) => replayed.push(e),
    });
    await expect.poll(() => replayed.length, { timeout: 5_000 }).toBe(1);
    await hub.publish('news', { data: 'four' });
    await expect.poll(() => replayed.length, { timeout: 5_000 }).toBe(2);
    expect(replayed.map((event) => event.data)).toEqual(['three', 'four']);
    c.close();
    expect(errors.length).toBeGreaterThanOrEqual(2);
    expect(
      errors.every((error) => HubError.isInstance(error) && error.code === 'invalid-entry'),
    ).toBe(true);
  });
});
