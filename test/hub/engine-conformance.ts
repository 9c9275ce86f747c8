/**
 * One conformance suite for every hub engine: `engineConformance(name, factory)` runs the same
 * contract against the memory engine and against Redis.
 */
import { afterEach, describe, expect, test } from 'vitest';
import type { HubEngine, LogEntry } from '../../src/hub/index.ts';
import { EngineError, type TailGap } from '../../src/index.ts';

export interface EngineFactory {
  /** A fresh engine; engines made by one factory share their storage (two instances). */
  create(): Promise<HubEngine>;
  /**
   * Tails are pushed each entry as it is appended (the memory engine delivers inside `append`;
   * the Durable Object drops a reader only past 10 000 entries of backlog): the gap test cannot
   * make them fall behind, and checks that nothing is skipped.
   * @default false
   */
  pushedTails?: boolean;
}

let counter = 0;
const uniqueKey = (name: string) => `test:${process.pid}:${Date.now()}:${++counter}:${name}`;

function until(check: () => boolean, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = () => {
      if (check()) resolve();
      else if (Date.now() - started > 5_000) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(poll, 5);
    };
    poll();
  });
}

export function engineConformance(name: string, factory: EngineFactory): void {
  describe(`engine conformance: ${name}`, () => {
    const engines: HubEngine[] = [];
    const create = async () => {
      const engine = await factory.create();
      engines.push(engine);
      return engine;
    };
    afterEach(async () => {
      for (const engine of engines.splice(0)) await engine.close();
    });

    test('append assigns increasing ids; range replays after an id, exclusively', async () => {
      const engine = await create();
      const key = uniqueKey('log');
      const ids: string[] = [];
      for (let index = 0; index < 5; index++)
        ids.push(await engine.append(key, { event: 'n', data: String(index) }));
      expect(ids).toEqual([...ids].sort((a, b) => compare(a, b)));
      expect(new Set(ids).size).toBe(5);
      const all = await engine.range(key, undefined, 100);
      expect(all.map((entry) => entry.event)).toEqual(
        [0, 1, 2, 3, 4].map((index) => ({ event: 'n', data: String(index) })),
      );
      expect((await engine.range(key, ids[1], 100)).map((entry) => entry.event.data)).toEqual([
        '2',
        '3',
        '4',
      ]);
      expect((await engine.range(key, ids[1], 2)).map((entry) => entry.event.data)).toEqual([
        '2',
        '3',
      ]);
      expect(await engine.range(key, ids[4], 100)).toEqual([]);
      expect(await engine.bounds(key)).toEqual({ first: ids[0], last: ids[4] });
      expect(await engine.bounds(uniqueKey('missing'))).toBeUndefined();
      expect(await engine.range(uniqueKey('missing'), undefined, 10)).toEqual([]);
    });

    test('explicit ids (a run log) and data without an event type', async () => {
      const engine = await create();
      const key = uniqueKey('run');
      expect(await engine.append(key, { data: 'a' }, { id: '0-1' })).toBe('0-1');
      expect(await engine.append(key, { data: 'b\nc' }, { id: '0-2' })).toBe('0-2');
      const conflict = await engine.append(key, { data: 'x' }, { id: '0-2' }).catch((e) => e);
      expect(EngineError.isInstance(conflict)).toBe(true);
      expect(conflict.code).toBe('append-conflict');
      expect(await engine.range(key, '0-1', 10)).toEqual([{ id: '0-2', event: { data: 'b\nc' } }]);
    });

    test('appends are idempotent: the same entry at the same id again is a success, stored once', async () => {
      const engine = await create();
      const key = uniqueKey('resent');
      expect(await engine.append(key, { event: 't', data: 'a' }, { id: '0-1' })).toBe('0-1');
      expect(await engine.append(key, { event: 't', data: 'b' }, { id: '0-2' })).toBe('0-2');
      // A client that lost the reply re-sends the command: the latest, or an earlier one.
      expect(await engine.append(key, { event: 't', data: 'b' }, { id: '0-2' })).toBe('0-2');
      expect(await engine.append(key, { event: 't', data: 'a' }, { id: '0-1' })).toBe('0-1');
      // The same id with another type is another entry: a conflict, not a re-send.
      const conflict = await engine.append(key, { data: 'b' }, { id: '0-2' }).catch((e) => e);
      expect(conflict.code).toBe('append-conflict');
      expect(await engine.range(key, undefined, 10)).toEqual([
        { id: '0-1', event: { event: 't', data: 'a' } },
        { id: '0-2', event: { event: 't', data: 'b' } },
      ]);
    });

    test('an event without data comes back without data; empty data stays empty', async () => {
      const engine = await create();
      const key = uniqueKey('nodata');
      await engine.append(key, { event: 'ping' }, { id: '0-1' });
      await engine.append(key, {}, { id: '0-2' });
      await engine.append(key, { data: '' }, { id: '0-3' });
      const entries = await engine.range(key, undefined, 10);
      expect(entries.map((entry) => entry.event)).toEqual([{ event: 'ping' }, {}, { data: '' }]);
      expect(
        entries.map((entry) => 'data' in entry.event && entry.event.data !== undefined),
      ).toEqual([false, false, true]);
    });

    test('maxLen keeps the log bounded', async () => {
      const engine = await create();
      const key = uniqueKey('capped');
      // 400: four of Redis' stream nodes (100 entries each), enough for it to trim whole ones.
      for (let index = 0; index < 400; index++)
        await engine.append(key, { data: String(index) }, { maxLen: 50 });
      const kept = await engine.range(key, undefined, 10_000);
      expect(kept.length).toBeGreaterThanOrEqual(50);
      expect(kept.length).toBeLessThan(250); // Redis trims approximately, in whole nodes
      expect(kept.at(-1)?.event.data).toBe('399');
    });

    test('maxAgeMs trims entries older than the age, even in a small log', async () => {
      const engine = await create();
      const key = uniqueKey('aged');
      await engine.append(key, { data: 'old 1' }, { maxAgeMs: 50 });
      await engine.append(key, { data: 'old 2' }, { maxAgeMs: 50 });
      await new Promise((resolve) => setTimeout(resolve, 80)); // explicitly past the 50 ms age
      await engine.append(key, { data: 'new' }, { maxAgeMs: 50 });
      const kept = await engine.range(key, undefined, 1_000);
      expect(kept.map((entry) => entry.event.data)).toEqual(['new']);
    });

    test('a log expires ttlMs after its last append', async () => {
      const engine = await create();
      const key = uniqueKey('ttl');
      const started = performance.now();
      await engine.append(key, { data: 'x' }, { ttlMs: 200 });
      const bounds = await engine.bounds(key);
      // Read within its TTL, the log is there (a machine stalled past the TTL proves nothing).
      if (performance.now() - started < 200) expect(bounds).toBeDefined();
      await expectEventually(async () => (await engine.bounds(key)) === undefined);
      expect(await engine.range(key, undefined, 10)).toEqual([]);
    });

    test('values expire after their TTL', async () => {
      const engine = await create();
      const key = uniqueKey('value');
      const started = performance.now();
      await engine.setValue(key, 'running', 200);
      const value = await engine.getValue(key);
      if (performance.now() - started < 200) expect(value).toBe('running');
      await expectEventually(async () => (await engine.getValue(key)) === undefined);
      expect(await engine.getValue(uniqueKey('never'))).toBeUndefined();
    });

    test('a tail delivers every later append, in order, to every listener, across instances', async () => {
      const writer = await create();
      const reader = await create();
      const key = uniqueKey('tail');
      await writer.append(key, { data: 'before' });
      const first: LogEntry[] = [];
      const second: LogEntry[] = [];
      const tailA = reader.tail(key, (entry) => first.push(entry));
      const tailB = reader.tail(key, (entry) => second.push(entry));
      await Promise.all([tailA.ready, tailB.ready]);
      for (let index = 0; index < 20; index++) await writer.append(key, { data: String(index) });
      await until(() => first.length === 20 && second.length === 20, 'tail entries');
      expect(first.map((entry) => entry.event.data)).toEqual(
        Array.from({ length: 20 }, (_, index) => String(index)),
      );
      expect(second).toEqual(first);
      tailA.close();
      await writer.append(key, { data: 'after close' });
      await until(() => second.length === 21, 'second listener');
      expect(first).toHaveLength(20);
      tailB.close();
    });

    test("a tail delivers its own instance's appends and others', interleaved: each once, in id order", async () => {
      const local = await create();
      const other = await create();
      const key = uniqueKey('mixed');
      const seen: LogEntry[] = [];
      const tail = local.tail(key, (entry) => seen.push(entry));
      await tail.ready;
      const ids = await Promise.all(
        Array.from({ length: 200 }, (_, index) =>
          (index % 3 === 0 ? other : local).append(key, { data: String(index) }),
        ),
      );
      const sorted = [...ids].sort(compare);
      // One more, last: a duplicate of any entry before it would be delivered before it.
      const end = await other.append(key, { data: 'end' });
      await until(() => seen.at(-1)?.id === end, 'every entry');
      expect(seen.pop()?.event).toEqual({ data: 'end' });
      expect(seen.map((entry) => entry.id)).toEqual(sorted);
      const data = new Map(ids.map((id, index) => [id, String(index)]));
      expect(seen.map((entry) => entry.event)).toEqual(
        sorted.map((id) => ({ data: data.get(id) })),
      );
      tail.close();
    });

    test('a tail that falls behind retention reports the gap before the entry after it, never a hole', async () => {
      // Writers of other instances append with a tiny maxLen while the reader's process is busy
      // (its listener holds the event loop for 100 ms at the first entry of each burst): the
      // appends already sent are stored and trimmed meanwhile, so the tail's next read starts
      // past entries it never read. Bursts go on until a gap shows (at once, in practice).
      const writers = await Promise.all([create(), create(), create(), create()]);
      const reader = await create();
      const key = uniqueKey('behind');
      const start = await writers[0]!.append(key, { data: 'start' }, { maxLen: 1 });
      const seen: Array<{ id: string } | { gap: TailGap }> = [];
      let stall = false;
      const tail = reader.tail(
        key,
        (entry) => {
          seen.push({ id: entry.id });
          if (!stall) return;
          stall = false;
          const until = Date.now() + 100;
          while (Date.now() < until) seen.length; // a busy process: no I/O is read meanwhile
        },
        (error) => {
          if (EngineError.isInstance(error) && error.code === 'history-lost')
            seen.push({ gap: error.gap! });
        },
      );
      await tail.ready;
      const appended: string[] = [start];
      const gaps = () => seen.filter((item) => 'gap' in item).length;
      // Entries skipped without a report (what the check below fails on): no more bursts needed.
      const skipped = () => {
        const sorted = [...appended].sort(compare);
        const delivered = seen.flatMap((item) => ('id' in item ? [item.id] : []));
        const reached = new Set(delivered);
        const last = delivered.at(-1);
        return last !== undefined && sorted.some((id) => compare(id, last) < 0 && !reached.has(id));
      };
      const bursts = factory.pushedTails ? 1 : 20;
      for (let burst = 0; burst < bursts && gaps() === 0 && !skipped(); burst++) {
        stall = true;
        const ids = await Promise.all(
          writers.flatMap((writer, index) =>
            Array.from({ length: 100 }, (_, n) =>
              writer.append(key, { data: `${burst}.${index}.${n}` }, { maxLen: 1 }),
            ),
          ),
        );
        appended.push(...ids);
        const last = ids.reduce((a, b) => (compare(a, b) > 0 ? a : b));
        await until(() => seen.some((item) => 'id' in item && item.id === last), 'the last entry');
      }
      tail.close();

      // Every delivered entry follows the one before it in the log, or a gap report that names
      // both (and entries were really skipped).
      appended.sort(compare);
      const position = new Map(appended.map((id, index) => [id, index]));
      let previous = start;
      let gap: TailGap | undefined;
      for (const item of seen) {
        if ('gap' in item) {
          expect(gap).toBeUndefined(); // one report per gap
          expect(item.gap.after).toBe(previous);
          gap = item.gap;
          continue;
        }
        if (compare(item.id, previous) <= 0) continue; // appended before `ready`: may come
        if (gap) {
          expect(item.id).toBe(gap.next);
          expect(position.get(item.id)!).toBeGreaterThan(position.get(previous)! + 1);
        } else {
          expect({ after: previous, next: item.id }).toEqual({
            after: previous,
            next: appended[position.get(previous)! + 1],
          });
        }
        gap = undefined;
        previous = item.id;
      }
      if (factory.pushedTails) expect(gaps()).toBe(0);
      else expect(gaps()).toBeGreaterThan(0);
    }, 60_000);

    test('a cancel published on one instance reaches every instance', async () => {
      const one = await create();
      const two = await create();
      const heardOne: string[] = [];
      const heardTwo: string[] = [];
      one.onCancel((runId) => heardOne.push(runId));
      const off = two.onCancel((runId) => heardTwo.push(runId));
      // Subscribing takes a round trip (a cluster client connects to its nodes first), and the
      // interface does not say when it is done: publish until both heard it, never a fixed wait.
      await untilPublished(one, 'run-a', () => heardOne.length > 0 && heardTwo.length > 0);
      expect(new Set(heardOne)).toEqual(new Set(['run-a']));
      expect(new Set(heardTwo)).toEqual(new Set(['run-a']));
      off();
      const heardBefore = heardTwo.length;
      await untilPublished(one, 'run-b', () => heardOne.includes('run-b'));
      expect(heardTwo).toHaveLength(heardBefore); // unsubscribed: it hears no more
    });
  });
}

async function untilPublished(
  engine: HubEngine,
  runId: string,
  heard: () => boolean,
): Promise<void> {
  const started = Date.now();
  while (!heard()) {
    if (Date.now() - started > 10_000) throw new Error(`cancel ${runId} not heard within 10 s`);
    await engine.publishCancel(runId);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function expectEventually(check: () => Promise<boolean>): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > 5_000) throw new Error('condition not reached within 5 s');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function compare(a: string, b: string): number {
  const [aMs, aSeq] = a.split('-').map(Number) as [number, number];
  const [bMs, bSeq] = b.split('-').map(Number) as [number, number];
  return aMs === bMs ? aSeq - bSeq : aMs - bMs;
}
