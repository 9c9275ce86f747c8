/**
 * The topic fan-out's tests' parts (test/hub/topics*.test.ts): a counting engine, a subscriber
 * that reads when told, a tail the test drives, and the fan-out suite each engine's file runs.
 */
import type { Socket } from 'node:net';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { compareIds, type LogEntry } from '../../src/hub/engine.ts';
import { createHub, createMemoryEngine, type Hub, type HubEngine } from '../../src/hub/index.ts';
import { createParser, type ServerSentEvent } from '../../src/index.ts';
import { anotherInstance, hubEngines } from '../helpers/hub-engines.ts';

/** Counts the engine's open tails, its `range` calls (replays) and its `bounds` calls. */
export function counting(engine: HubEngine): {
  engine: HubEngine;
  tails(): number;
  ranges(): number;
  bounds(): number;
} {
  let tails = 0;
  let ranges = 0;
  let bounds = 0;
  const counted: HubEngine = {
    ...engine,
    append: (key, event, options) => engine.append(key, event, options),
    bounds(key) {
      bounds++;
      return engine.bounds(key);
    },
    range(key, after, count) {
      ranges++;
      return engine.range(key, after, count);
    },
    tail(key, listener, onError) {
      const tail = engine.tail(key, listener, onError);
      tails++;
      let open = true;
      return {
        ready: tail.ready,
        close() {
          if (open) tails--;
          open = false;
          tail.close();
        },
      };
    },
    close: () => engine.close(),
  };
  return { engine: counted, tails: () => tails, ranges: () => ranges, bounds: () => bounds };
}

/** Decodes a subscription's body once `start()` is called: until then, the client reads nothing. */
export function subscriber(response: Response) {
  const events: ServerSentEvent[] = [];
  const parser = createParser({ onEvent: (event) => events.push(event) });
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let ended = false;
  const start = () => {
    if (reader) return;
    reader = response.body!.getReader();
    const current = reader;
    void (async () => {
      for (;;) {
        const { value, done } = await current.read();
        if (done) break;
        parser.feed(value);
      }
    })()
      .catch(() => {})
      .finally(() => {
        ended = true;
      });
  };
  return {
    events,
    start,
    get ended() {
      return ended;
    },
    data: () => events.filter((event) => event.type === 'message').map((event) => event.data),
    async until(check: () => boolean, what = 'the expected events') {
      start();
      await waitFor(
        () => check() || ended,
        () => `${what}; got ${events.length} events`,
      );
      if (!check()) throw new Error(`the stream ended before ${what}; got ${events.length}`);
    },
    cancel: () => (reader ? reader.cancel() : response.body!.cancel()),
  };
}

export const numbers = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, index) => String(from + index));

/**
 * Publishes a burst, 100 at a time without waiting for each (Redis runs one connection's commands
 * in order, so ids still follow the data); resolves with the ids in order.
 */
/**
 * A body's text up to `marker` (or its end), read without a parser: thousands of these run at
 * once in the storm tests.
 */
export async function readUntil(response: Response, marker: string): Promise<string> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  while (!text.includes(marker)) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  await reader.cancel();
  return text;
}

export async function publishAll(hub: Hub, topic: string, data: string[]): Promise<string[]> {
  const ids: string[] = [];
  for (let start = 0; start < data.length; start += 100) {
    const chunk = data.slice(start, start + 100);
    ids.push(...(await Promise.all(chunk.map((item) => hub.publish(topic, { data: item })))));
  }
  return ids;
}

/**
 * A memory engine whose tail the test drives (`deliver`, `report`: what a real tail would hand
 * the topic), and `replayed`, which resolves once a replay read the log and the catch-up settled
 * (no I/O in between: one turn of the event loop).
 */
export function drivenTail() {
  const memory = createMemoryEngine();
  let deliver!: (entry: LogEntry) => void;
  let report!: (error: unknown) => void;
  let read!: () => void;
  const replayed = new Promise<void>((resolve) => (read = resolve)).then(
    () => new Promise((resolve) => setImmediate(resolve)),
  );
  const engine = new Proxy(memory, {
    get(target, property) {
      if (property === 'tail')
        return (_key: string, listener: typeof deliver, onError: typeof report) => {
          deliver = listener;
          report = onError;
          return { ready: Promise.resolve(), close() {} };
        };
      if (property === 'range')
        return async (...args: Parameters<HubEngine['range']>) => {
          const entries = await target.range(...args);
          read();
          return entries;
        };
      const value = Reflect.get(target, property);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return {
    engine,
    replayed,
    deliver: (entry: LogEntry) => deliver(entry),
    report: (error: unknown) => report(error),
  };
}

/**
 * The fan-out suite on one engine (a file per engine, so that the three run side by side): every
 * test on a fresh engine made by {@link hubEngines}, which starts and stops Redis and PostgreSQL.
 */
export function topicFanOut(engineName: 'memory' | 'redis' | 'postgres'): void {
  const create = hubEngines(`topics-${engineName}`)[engineName];
  describe(`topic fan-out on the ${engineName} engine`, () => {
    let hub: Hub;
    let engine: HubEngine;
    afterEach(async () => {
      await hub?.close();
      await engine?.close();
    });

    test('a subscriber that stops reading falls behind and catches up from the log: every event, in order, once', async () => {
      const counted = counting((engine = create()));
      hub = createHub({
        engine: counted.engine,
        retention: { maxEvents: 10_000 },
        onError: vi.fn(),
      });
      const fast = subscriber(await hub.subscribe(new Request('http://hub.test/t'), 'burst'));
      const slow = subscriber(
        await hub.subscribe(new Request('http://hub.test/t'), 'burst', { highWaterMark: 512 }),
      );
      fast.start();
      const count = 1500; // more than a catching-up subscriber holds (1024): it replays again
      const ids = await publishAll(hub, 'burst', numbers(1, count));
      await fast.until(() => fast.events.length === count);
      expect(slow.events).toEqual([]);
      const rangesBefore = counted.ranges();
      slow.start();
      await slow.until(() => slow.events.length === count);
      expect(slow.data()).toEqual(numbers(1, count));
      expect(slow.events.map((event) => event.id)).toEqual(ids);
      expect(fast.events.map((event) => event.id)).toEqual(ids);
      expect(counted.ranges()).toBeGreaterThan(rangesBefore); // it did replay from the log
      expect(counted.tails()).toBe(1);
    }, 60_000);

    test('a subscriber that falls further behind than the retained history gets history-lost where each hole is, then the rest in order', async () => {
      engine = create();
      hub = createHub({ engine, retention: { maxEvents: 100 }, onError: vi.fn() });
      const slow = subscriber(
        await hub.subscribe(new Request('http://hub.test/t'), 'trimmed', { highWaterMark: 256 }),
      );
      const count = 2000;
      await publishAll(hub, 'trimmed', numbers(1, count));
      await slow.until(() => slow.events.at(-1)?.data === String(count));
      // Runs of consecutive events, split by history-lost reports. How many holes depends on how
      // far the engine's tail is behind when the subscriber reads again (Redis delivers its tail
      // asynchronously): one at least; every jump is reported, right where it is.
      const lostAt = slow.events.flatMap((event, index) =>
        event.type === 'history-lost' ? [index] : [],
      );
      expect(lostAt.length).toBeGreaterThan(0);
      let previous = 0;
      for (const [index, event] of slow.events.entries()) {
        if (event.type === 'history-lost') {
          const lost = JSON.parse(event.data) as { requested: string; from: string };
          expect(lost.requested).toBe(slow.events[index - 1]!.id);
          expect(lost.from).toBe(slow.events[index + 1]!.id);
          expect(Number(slow.events[index + 1]!.data)).toBeGreaterThan(previous + 1); // lost some
          continue;
        }
        const value = Number(event.data);
        if (slow.events[index - 1]?.type !== 'history-lost') expect(value).toBe(previous + 1);
        previous = value;
      }
      expect(previous).toBe(count);
      expect(slow.events[0]!.data).toBe('1');
    }, 60_000);

    test("live subscribers whose instance's tail falls behind the retention get history-lost, never a silent hole", async () => {
      engine = create();
      hub = createHub({ engine, retention: { maxEvents: 1 }, onError: vi.fn() });
      // Other instances publish (an instance hands its own appends to its own tail at once); this
      // one is busy (the first event of each burst holds the event loop for 100 ms) while their
      // appends already sent are stored and trimmed to the last one: the topic's tail reads on past
      // entries it never read. The memory engine's tail cannot fall behind.
      const writers = Array.from({ length: 4 }, () => anotherInstance(engine));
      const writerHubs = writers.map((writer) =>
        createHub({ engine: writer, retention: { maxEvents: 1 }, onError: vi.fn() }),
      );
      let stall = false;
      const response = await hub.subscribe(new Request('http://hub.test/t'), 'fast');
      const live = { events: [] as ServerSentEvent[], reader: response.body!.getReader() };
      const many = subscriber(await hub.subscribeMany(new Request('http://hub.test/m'), ['fast']));
      many.start();
      await many.until(() => many.events.some((event) => event.type === 'subscribed'));
      const parser = createParser({
        onEvent(event) {
          live.events.push(event);
          if (!stall || event.type !== 'message') return;
          stall = false;
          const until = Date.now() + 100;
          while (Date.now() < until) live.events.length;
        },
      });
      void (async () => {
        for (;;) {
          const { value, done } = await live.reader.read();
          if (done) return;
          parser.feed(value);
        }
      })().catch(() => {});
      let next = 1;
      const published: Array<{ id: string; data: string }> = [];
      const lost = (events: ServerSentEvent[]) =>
        events.filter((event) => event.type === 'history-lost');
      const bursts = engineName === 'memory' ? 1 : 20;
      for (let burst = 0; burst < bursts && lost(live.events).length === 0; burst++) {
        stall = true;
        const data = numbers(next, next + 399);
        next += 400;
        const ids = await Promise.all(
          data.map((item, index) => writerHubs[index % 4]!.publish('fast', { data: item })),
        );
        for (const [index, id] of ids.entries()) published.push({ id, data: data[index]! });
        // The newest entry is never trimmed: every subscriber gets it.
        const last = published.reduce((a, b) => (compareIds(a.id, b.id) > 0 ? a : b)).data;
        await waitFor(() => live.events.some((event) => event.data === last));
        await many.until(() => many.events.some((event) => event.data === last));
      }
      // The log's order (four writers interleave): each event follows the one before it there, or
      // a history-lost that names both (and events were really lost in between).
      published.sort((a, b) => compareIds(a.id, b.id));
      const position = new Map(published.map((item, index) => [item.data, index]));
      const at = (event: ServerSentEvent) => position.get(event.data)!;
      const check = (events: ServerSentEvent[], exactIds: boolean) => {
        let previous: ServerSentEvent | undefined;
        let report: ServerSentEvent | undefined;
        for (const event of events) {
          if (event.type === 'history-lost') {
            expect(report).toBeUndefined();
            report = event;
            continue;
          }
          if (event.type !== 'message') continue;
          if (previous !== undefined && report === undefined) {
            expect(at(event)).toBe(at(previous) + 1);
          } else if (previous !== undefined && report !== undefined) {
            expect(at(event)).toBeGreaterThan(at(previous) + 1);
            const data = JSON.parse(report.data) as { topic?: string; requested: string };
            if (exactIds) expect(data).toEqual({ requested: previous.id, from: event.id });
            else expect(data.topic).toBe('fast');
          }
          previous = event;
          report = undefined;
        }
      };
      check(live.events, true);
      check(many.events, false);
      if (engineName === 'memory') {
        expect(lost(live.events)).toEqual([]);
        expect(lost(many.events)).toEqual([]);
      } else {
        expect(lost(live.events).length).toBeGreaterThan(0);
        expect(lost(many.events).length).toBeGreaterThan(0); // one tail: the same gap
      }
      await live.reader.cancel();
      await many.cancel();
      await Promise.all(writerHubs.map((writerHub) => writerHub.close()));
      await Promise.all(writers.map((writer) => writer.close()));
    }, 60_000);

    test('coalesce: a subscriber that is behind gets the latest value per key', async () => {
      engine = create();
      hub = createHub({ engine, onError: vi.fn() });
      const dashboard = subscriber(
        await hub.subscribe(new Request('http://hub.test/t'), 'metrics', {
          coalesce: (event) => event.event,
        }),
      );
      // A subscriber that reads: once it has the last event, so has the dashboard's queue (the
      // topic's tail hands each entry to every subscriber in one go).
      const witness = subscriber(await hub.subscribe(new Request('http://hub.test/t'), 'metrics'));
      witness.start();
      const keys = ['cpu', 'memory', 'disk'];
      for (let index = 0; index < 300; index++) {
        await hub.publish('metrics', { event: keys[index % 3], data: { value: index } });
      }
      await witness.until(() => witness.events.length === 300);
      await dashboard.until(() => dashboard.events.some((event) => event.data === '{"value":299}'));
      expect(dashboard.events.map((event) => [event.type, event.data])).toEqual([
        ['cpu', '{"value":297}'],
        ['memory', '{"value":298}'],
        ['disk', '{"value":299}'],
      ]);
      await dashboard.cancel();
    });

    test('filters run per subscriber; a filter that throws ends only its own subscription', async () => {
      engine = create();
      const onError = vi.fn();
      hub = createHub({ engine, onError: vi.fn() });
      const request = () => new Request('http://hub.test/t');
      const all = subscriber(await hub.subscribe(request(), 'logs'));
      const warnings = subscriber(
        await hub.subscribe(request(), 'logs', { filter: (event) => event.event === 'warn' }),
      );
      let calls = 0;
      const failing = subscriber(
        await hub.subscribe(request(), 'logs', {
          filter: () => {
            if (++calls === 3) throw new Error('filter bug');
            return true;
          },
          onError,
        }),
      );
      for (const started of [all, warnings, failing]) started.start();
      for (let index = 1; index <= 6; index++) {
        await hub.publish('logs', {
          event: index % 3 === 0 ? 'warn' : 'info',
          data: `line ${index}`,
        });
      }
      await all.until(() => all.events.length === 6);
      await warnings.until(() => warnings.events.length === 2);
      await waitFor(() => failing.ended);
      expect(warnings.events.map((event) => event.data)).toEqual(['line 3', 'line 6']);
      expect(failing.events.map((event) => event.data)).toEqual(['line 1', 'line 2']);
      expect(onError).toHaveBeenCalledWith(new Error('filter bug'));
      await all.cancel();
      await warnings.cancel();
    });

    test('late joiners during a burst: with Last-Event-ID exactly the rest, without it a gap-free tail', async () => {
      engine = create();
      hub = createHub({ engine, retention: { maxEvents: 10_000 }, onError: vi.fn() });
      const count = 400;
      const ids: string[] = [];
      const joined: Array<{ after: number; reader: ReturnType<typeof subscriber> }> = [];
      const joining: Promise<void>[] = [];
      for (let index = 1; index <= count; index++) {
        ids.push(await hub.publish('burst', { data: String(index) }));
        if (index % 40 === 0 && index < count) {
          // Not awaited: the subscription is set up while the next events are published.
          const resume = index % 80 === 0 ? index - 25 : 0;
          const headers: Record<string, string> = resume
            ? { 'last-event-id': ids[resume - 1]! }
            : {};
          joining.push(
            hub
              .subscribe(new Request('http://hub.test/t', { headers }), 'burst')
              .then((response) => {
                const reader = subscriber(response);
                reader.start();
                joined.push({ after: resume, reader });
              }),
          );
        }
      }
      await Promise.all(joining);
      for (const { after, reader } of joined) {
        await reader.until(() => reader.events.at(-1)?.data === String(count));
        const received = reader.events.map((event) => Number(event.data));
        const first = after > 0 ? after + 1 : received[0]!;
        expect(received).toEqual(numbers(first, count).map(Number));
        if (after > 0) expect(reader.events[0]!.id).toBe(ids[after]);
        await reader.cancel();
      }
      expect(joined).toHaveLength(9);
    }, 60_000);

    test('5000 subscribers on one topic all receive every event, in order', async () => {
      const counted = counting((engine = create()));
      hub = createHub({ engine: counted.engine, onError: vi.fn() });
      const count = 5000;
      const responses = await Promise.all(
        Array.from({ length: count }, () =>
          hub.subscribe(new Request('http://hub.test/t'), 'broadcast', { heartbeatMs: 0 }),
        ),
      );
      // They all came before the topic's tail was up: one read of the log's end served them all.
      expect(counted.bounds()).toBe(1);
      // Subscribed (every hub.subscribe resolved): every event published from now on reaches them.
      const received = responses.map((response) => readUntil(response, 'data: 10\n'));
      for (let index = 1; index <= 10; index++) {
        await hub.publish('broadcast', { data: String(index) });
      }
      const expected = numbers(1, 10).map((n) => `data: ${n}`);
      for (const text of await Promise.all(received)) {
        expect(text.match(/^data: .*$/gm)).toEqual(expected);
      }
      // Their catch-ups (each from the log's end) shared their replays too: 5000 reads before.
      expect(counted.ranges()).toBeLessThanOrEqual(3);
    }, 60_000);

    test('a reconnect storm: 1000 clients resuming from one id, with events published meanwhile, share their reads and each get exactly the rest', async () => {
      const counted = counting((engine = create()));
      hub = createHub({ engine: counted.engine, onError: vi.fn() });
      const ids = await publishAll(hub, 'storm', numbers(1, 20));
      const [boundsBefore, rangesBefore] = [counted.bounds(), counted.ranges()];
      const count = 1000;
      const headers = { 'last-event-id': ids[9]! }; // they all had events 1 to 10
      const subscribing = Array.from({ length: count }, () =>
        hub.subscribe(new Request('http://hub.test/t', { headers }), 'storm', { heartbeatMs: 0 }),
      );
      // Published while the subscriptions read the log: each gets them once, from the log or live.
      const during = publishAll(hub, 'storm', numbers(21, 25));
      const responses = await Promise.all(subscribing);
      await during;
      await publishAll(hub, 'storm', numbers(26, 30));
      const expected = numbers(11, 30).map((n) => `data: ${n}`);
      const texts = await Promise.all(
        responses.map((response) => readUntil(response, 'data: 30\n')),
      );
      for (const text of texts) {
        expect(text.match(/^data: .*$/gm)).toEqual(expected);
        expect(text.match(/^id: .*$/m)?.[0]).toBe(`id: ${ids[10]}`);
      }
      // Each asks the log's bounds (where its id stands), replays after it, and checks the bounds
      // again: 2000 bounds and 1000 replays before the reads were shared.
      expect(counted.bounds() - boundsBefore).toBeLessThanOrEqual(12); // 4 to 6 measured
      expect(counted.ranges() - rangesBefore).toBeLessThanOrEqual(8); // 2 to 3
    }, 60_000);

    test('one engine tail per topic, however many subscribers, closed when the last one leaves', async () => {
      const counted = counting((engine = create()));
      hub = createHub({ engine: counted.engine, onError: vi.fn() });
      const readers = await Promise.all(
        Array.from({ length: 50 }, async () =>
          subscriber(await hub.subscribe(new Request('http://hub.test/t'), 'shared')),
        ),
      );
      const other = subscriber(await hub.subscribe(new Request('http://hub.test/t'), 'other'));
      expect(counted.tails()).toBe(2);
      await hub.publish('shared', { data: 'hello' });
      for (const reader of readers) await reader.until(() => reader.events.length === 1);
      await Promise.all(readers.map((reader) => reader.cancel()));
      await waitFor(() => counted.tails() === 1);
      await other.cancel();
      await waitFor(() => counted.tails() === 0);
    });
  });
}

export function collect(socket: Socket): { value: string } {
  const text = { value: '' };
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => {
    text.value += chunk;
  });
  return text;
}

export async function waitFor(check: () => boolean, describe?: () => string): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > 30_000)
      throw new Error(`condition not reached within 30 s ${describe?.() ?? ''}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
