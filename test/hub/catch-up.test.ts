/**
 * Replay-then-live (src/hub/_catch-up.ts), the one algorithm behind a run's responses and a
 * topic's catching-up subscribers, driven step by step on the memory engine: the seam (an entry
 * both replayed and delivered by the tail goes out once), the fallback to replay when more than
 * MAX_PENDING entries wait, including an overflow while the last replay batch is in flight, and
 * the end (the reader stops, the tail closes).
 */
import { afterEach, expect, test } from 'vitest';
import { CatchUp, followLog, MAX_PENDING, REPLAY_BATCH } from '../../src/hub/_catch-up.ts';
import { createMemoryEngine, type HubEngine, type LogEntry } from '../../src/hub/index.ts';

const engines: HubEngine[] = [];
afterEach(async () => {
  for (const engine of engines.splice(0)) await engine.close();
});

/**
 * A memory engine whose `range` can be held after it read the log (the reply in flight), and
 * which counts `range` calls and open tails.
 */
function steppedEngine() {
  const engine = createMemoryEngine();
  engines.push(engine);
  let hold: Promise<void> | undefined;
  let held: (() => void) | undefined;
  let ranges = 0;
  let tails = 0;
  const stepped: HubEngine = {
    ...engine,
    async range(key, after, count) {
      ranges++;
      const entries = await engine.range(key, after, count);
      const gate = hold;
      held?.();
      if (gate) await gate;
      return entries;
    },
    tail(key, listener, onError) {
      tails++;
      const tail = engine.tail(key, listener, onError);
      return {
        ready: tail.ready,
        close() {
          tails--;
          tail.close();
        },
      };
    },
  };
  return {
    engine: stepped,
    /** Holds the next `range` replies; resolves once one was read and is held; `release()` lets them go. */
    holdRanges() {
      let release!: () => void;
      hold = new Promise<void>((resolve) => (release = resolve));
      const reached = new Promise<void>((resolve) => (held = resolve));
      return {
        reached,
        release() {
          hold = undefined;
          held = undefined;
          release();
        },
      };
    },
    ranges: () => ranges,
    tails: () => tails,
  };
}

async function appendMany(engine: HubEngine, key: string, from: number, to: number) {
  const ids: string[] = [];
  for (let index = from; index <= to; index++)
    ids.push(await engine.append(key, { data: String(index) }, { id: `0-${index}` }));
  return ids;
}

/** Appends entries `from`..`to` (ids `0-<n>`, the log kept to 100) and offers each to `catchUp`, as a shared tail would. */
function publisher(engine: HubEngine, key: string, catchUp: CatchUp) {
  return async (from: number, to: number) => {
    for (let index = from; index <= to; index++) {
      const id = `0-${index}`;
      await engine.append(key, { data: String(index) }, { id, maxLen: 100 });
      catchUp.offer({ id, event: { data: String(index) } });
    }
  };
}

const numbers = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, index) => String(from + index));

/** Follows the log `log` from `after`, recording what it takes, until it takes `until` (or an abort). */
function follow(
  engine: HubEngine,
  options: {
    after?: string;
    until?: string;
    signal?: AbortSignal;
    onTake?: (entry: LogEntry, index: number) => Promise<void> | undefined;
  },
) {
  const taken: LogEntry[] = [];
  const done = followLog({
    engine,
    key: 'log',
    after: options.after,
    signal: options.signal ?? new AbortController().signal,
    async take(entry) {
      taken.push(entry);
      await options.onTake?.(entry, taken.length - 1);
      return entry.event.data === options.until;
    },
  });
  return { taken, data: () => taken.map((entry) => entry.event.data), done };
}

test('followLog: the log after the cursor, then live entries, each once and in order', async () => {
  const { engine, tails } = steppedEngine();
  await appendMany(engine, 'log', 1, 600); // more than two replay batches
  const reader = follow(engine, {
    after: '0-100',
    until: '750',
    // Live entries arrive while the replay is still being taken: the seam must skip them.
    onTake: (entry) =>
      entry.id === '0-300' ? appendMany(engine, 'log', 601, 700).then(() => {}) : undefined,
  });
  await expect.poll(() => reader.taken.length).toBe(600);
  await appendMany(engine, 'log', 701, 760);
  await reader.done;
  expect(reader.data()).toEqual(numbers(101, 750));
  expect(reader.taken.map((entry) => entry.id)).toEqual(numbers(101, 750).map((n) => `0-${n}`));
  expect(tails()).toBe(0); // the reader stopped at its last entry: its tail is closed
});

test('followLog: a reader that falls more than MAX_PENDING entries behind replays them from the log', async () => {
  const { engine, ranges } = steppedEngine();
  let release!: () => void;
  const paused = new Promise<void>((resolve) => (release = resolve));
  const total = MAX_PENDING * 3;
  const reader = follow(engine, {
    until: String(total),
    onTake: (_entry, index) => (index === 0 ? paused : undefined), // a client that stops reading
  });
  await appendMany(engine, 'log', 1, 1);
  await expect.poll(() => reader.taken.length).toBe(1);
  const rangesBefore = ranges();
  await appendMany(engine, 'log', 2, total); // the tail delivers them all while it is stuck
  release();
  await reader.done;
  expect(reader.data()).toEqual(numbers(1, total));
  expect(ranges()).toBeGreaterThan(rangesBefore); // the pending queue overflowed: it replayed
});

test('followLog: an overflow while the last replay batch is in flight replays again, losing nothing', async () => {
  const stepped = steppedEngine();
  const { engine } = stepped;
  await appendMany(engine, 'log', 1, 10);
  const total = 10 + MAX_PENDING + 50;
  const held = stepped.holdRanges();
  const reader = follow(engine, { until: String(total) });
  // The replay read 1..10 (a short batch: the end of the log) and its reply is in flight: the
  // tail now delivers more than MAX_PENDING entries, and drops them. They are in the log, after
  // what that reply holds: the reader must read them from the log again, not go on from the tail.
  await held.reached;
  await appendMany(engine, 'log', 11, total);
  held.release();
  await reader.done;
  expect(reader.data()).toEqual(numbers(1, total));
});

test('followLog: an abort ends a reader that waits for the next entry, and closes its tail', async () => {
  const { engine, tails } = steppedEngine();
  await appendMany(engine, 'log', 1, 3);
  const controller = new AbortController();
  const reader = follow(engine, { after: '0-1', signal: controller.signal });
  await expect.poll(() => reader.taken.length).toBe(2);
  expect(tails()).toBe(1);
  controller.abort();
  await reader.done;
  expect(reader.data()).toEqual(['2', '3']);
  expect(tails()).toBe(0);
});

test('CatchUp: caught up, it hands the live path only entries newer than its cursor; it reports history lost', async () => {
  const { engine } = steppedEngine();
  const ids = await appendMany(engine, 'log', 1, REPLAY_BATCH + 5);
  const catchUp = new CatchUp(ids[2]);
  const taken: string[] = [];
  const lost: unknown[] = [];
  let done = false;
  const reader = {
    get done() {
      return done;
    },
    take(entry: LogEntry) {
      taken.push(entry.event.data!);
      return undefined;
    },
    lost: (report: unknown) => lost.push(report),
  };
  // While it catches up, the tail's entries are held (the replay will read them from the log).
  expect(catchUp.offer({ id: ids[5]!, event: { data: '6' } })).toBe(false);
  expect(await catchUp.run(engine, 'log', reader)).toBe(true);
  expect(taken).toEqual(numbers(4, REPLAY_BATCH + 5));
  expect(catchUp.cursor).toBe(ids.at(-1));
  // Caught up: an entry the replay read (an asynchronous tail may still bring it) is skipped, a
  // new one goes to the live path.
  expect(catchUp.offer({ id: ids.at(-1)!, event: { data: 'again' } })).toBe(false);
  expect(catchUp.offer({ id: `0-${REPLAY_BATCH + 6}`, event: { data: 'new' } })).toBe(true);
  expect(lost).toEqual([]);

  // A reader behind a log that retention trimmed: the first entry it dropped is gone.
  const trimmed = new CatchUp('0-2');
  for (let index = 0; index <= MAX_PENDING; index++) {
    trimmed.offer({ id: `0-${1000 + index}`, event: { data: 'x' } }); // dropped past MAX_PENDING
  }
  await engine.append('short', { data: 'kept' }, { id: '0-5000' });
  const replayed: string[] = [];
  expect(
    await trimmed.run(engine, 'short', {
      done: false,
      take: (entry) => void replayed.push(entry.id),
    }),
  ).toBe(true);
  expect(replayed).toEqual(['0-5000']);
  const reported: unknown[] = [];
  const again = new CatchUp('0-2');
  for (let index = 0; index <= MAX_PENDING; index++) {
    again.offer({ id: `0-${1000 + index}`, event: { data: 'x' } });
  }
  await again.run(engine, 'short', {
    done: false,
    take: () => undefined,
    lost: (report) => reported.push(report),
  });
  expect(reported).toEqual([{ requested: '0-2', from: '0-5000' }]);
  done = true;
});

test('CatchUp: history lost behind a replay batch that passed the first entry it dropped is reported, once', async () => {
  // A topic subscriber joins as a burst starts: its tail brings entries the replay reads too.
  // Its client stops reading in the first replay batch, the burst overflows its pending queue,
  // and retention trims the log to its last 100 entries; when the client reads again, the rest
  // of the batch (read before the trim) goes out, then the loss is reported, then what is left.
  const { engine } = steppedEngine();
  const catchUp = new CatchUp(undefined); // from the start of the log
  const publish = publisher(engine, 'topic', catchUp);
  await publish(1, 100);
  let release!: () => void;
  const paused = new Promise<void>((resolve) => (release = resolve));
  const received: string[] = [];
  const reports: unknown[] = [];
  const running = catchUp.run(engine, 'topic', {
    done: false,
    take(entry) {
      received.push(entry.event.data!);
      return received.length === 1 ? paused : undefined;
    },
    lost: (report) => {
      reports.push(report);
      received.push('history-lost');
    },
  });
  await expect.poll(() => received.length).toBe(1);
  // More than MAX_PENDING: 1..1025 dropped, 1026..2000 wait in the queue; the log keeps
  // 1901..2000. Lost: 101..1025 (dropped, then trimmed); the queue's entries go out after the report.
  await publish(101, 2000);
  release();
  expect(await running).toBe(true);
  expect(received).toEqual([...numbers(1, 100), 'history-lost', ...numbers(1026, 2000)]);
  expect(reports).toEqual([{ requested: '0-100', from: '0-1026' }]);
});

test('CatchUp: a live reader that fell behind takes the entries after it from its queue, though retention trimmed them from the log', async () => {
  // A topic subscriber stops reading at entry 6 (the tail's last): entries 7 to 200 wait in its
  // queue while a burst trims the log to its last 100 entries. The queue is the continuation of
  // its cursor: nothing is lost, nothing replayed (a replay would find 1901..2000 and skip 7..200).
  const { engine } = steppedEngine();
  const catchUp = new CatchUp('0-6', false);
  await appendTrimmed(engine, 1, 2000, 100);
  for (let index = 7; index <= 200; index++)
    catchUp.offer({ id: `0-${index}`, event: { data: String(index) } });
  const { reader, received } = gapReader();
  expect(await catchUp.run(engine, 'log', reader)).toBe(true);
  expect(received).toEqual(numbers(7, 200));
});

test('CatchUp: a replay that finds the log trimmed past its queue hands over the queue, after history-lost', async () => {
  // Behind at 0-2, the reader's queue overflowed (1000..2024 dropped), then 2025..2100 arrived;
  // retention kept 2050..2100 only. What was dropped is lost and reported; the queue's entries
  // from 2025 on are not: they go out after the report, not skipped behind the log's 2050.
  const { engine } = steppedEngine();
  const catchUp = new CatchUp('0-2');
  for (let index = 1000; index <= 2100; index++)
    catchUp.offer({ id: `0-${index}`, event: { data: String(index) } });
  await appendTrimmed(engine, 2000, 2100, 51);
  const { reader, received } = gapReader();
  expect(await catchUp.run(engine, 'log', reader)).toBe(true);
  expect(received).toEqual([{ requested: '0-2', from: '0-2025' }, ...numbers(2025, 2100)]);
});

test('CatchUp: a queue dropped while the first replay read is in flight, then trimmed: the hole after that read is reported', async () => {
  // A subscriber joins from the start as a burst begins: its first replay reads 1..8 (the whole
  // log then). While that read is in flight the burst overflows its queue (1..1025 dropped: the
  // first dropped is before where the read ends) and retention keeps 1001..1100. After 1..8, the
  // next replay finds 1001: 9..1000 are gone, and it says so.
  const { engine, holdRanges } = steppedEngine();
  const catchUp = new CatchUp(undefined);
  const publish = publisher(engine, 'log', catchUp);
  await publish(1, 8);
  const held = holdRanges();
  const { reader, received } = gapReader();
  const running = catchUp.run(engine, 'log', reader);
  await held.reached; // read 1..8, the reply held
  await publish(9, 1100);
  held.release();
  expect(await running).toBe(true);
  expect(received).toEqual([
    ...numbers(1, 8),
    { requested: '0-8', from: '0-1001' },
    ...numbers(1001, 1100),
  ]);
});

test('CatchUp: a join whose cursor retention trimmed before the first replay hears history-lost; one whose cursor is kept does not', async () => {
  // The subscription checked Last-Event-ID 0-5 against the log's bounds; before the first replay
  // read, a burst trimmed the log to 21..30 (the entries after 0-5 are gone).
  const { engine } = steppedEngine();
  await appendTrimmed(engine, 1, 30, 10);
  const trimmed = gapReader();
  expect(await new CatchUp('0-5').run(engine, 'log', trimmed.reader)).toBe(true);
  expect(trimmed.received).toEqual([{ requested: '0-5', from: '0-21' }, ...numbers(21, 30)]);
  // Still in the log: nothing lost, nothing reported.
  const kept = gapReader();
  expect(await new CatchUp('0-25').run(engine, 'log', kept.reader)).toBe(true);
  expect(kept.received).toEqual(numbers(26, 30));
});

/**
 * The engine's tail fell behind: it reports a gap (`after`, `next`: what it delivered last, and
 * delivers next) because retention trimmed what was in between before it read it. Driven by hand:
 * the log is the memory engine's (trimmed for real by `maxLen`); `gap` and `hold` play the tail.
 */
function gapReader() {
  const received: unknown[] = [];
  let gate: Promise<void> | undefined;
  const reader = {
    done: false,
    take(entry: LogEntry) {
      received.push(entry.event.data);
      const wait = gate;
      gate = undefined;
      return wait;
    },
    lost(report: unknown) {
      received.push(report);
    },
  };
  return {
    reader,
    received,
    /** The next `take` waits until `release()`. */
    pauseNext() {
      let release!: () => void;
      gate = new Promise<void>((resolve) => (release = resolve));
      return () => release();
    },
  };
}

async function appendTrimmed(engine: HubEngine, from: number, to: number, maxLen: number) {
  for (let index = from; index <= to; index++)
    await engine.append('log', { data: String(index) }, { id: `0-${index}`, maxLen });
}

const entry = (index: number): LogEntry => ({ id: `0-${index}`, event: { data: String(index) } });

test('a gap in the tail: a reader at its start hears history-lost right before the entry after it', async () => {
  const { engine } = steppedEngine();
  await appendTrimmed(engine, 1, 3, 100);
  const catchUp = new CatchUp('0-1');
  const { reader, received } = gapReader();
  expect(await catchUp.run(engine, 'log', reader)).toBe(true);
  // The tail misses 4..8 (its process was busy) while retention trims them: the log keeps 9, 10.
  await appendTrimmed(engine, 4, 10, 2);
  catchUp.gap('0-3', '0-9');
  catchUp.hold(entry(9));
  catchUp.hold(entry(10));
  expect(await catchUp.run(engine, 'log', reader)).toBe(true);
  expect(received).toEqual(['2', '3', { requested: '0-3', from: '0-9' }, '9', '10']);
});

test('a gap in the tail, then an overflow: the replay finds the gap trimmed and reports it once', async () => {
  const { engine } = steppedEngine();
  await appendTrimmed(engine, 1, 3, 100);
  const catchUp = new CatchUp('0-1');
  const { reader, received, pauseNext } = gapReader();
  const release = pauseNext();
  const running = catchUp.run(engine, 'log', reader); // read 2, 3; waits after taking 2
  await expect.poll(() => received.length).toBe(1);
  await appendTrimmed(engine, 4, 10, 2);
  catchUp.gap('0-3', '0-9');
  catchUp.hold(entry(9));
  catchUp.hold(entry(10));
  for (let index = 11; index <= 1100; index++) {
    await engine.append('log', { data: String(index) }, { id: `0-${index}`, maxLen: 2 });
    catchUp.hold(entry(index)); // past MAX_PENDING: dropped, replayed from the log
  }
  release();
  expect(await running).toBe(true);
  // 4..8 (the gap) and 9..1033 (dropped, then trimmed) are lost; 1034..1100 wait in the queue.
  expect(received).toEqual([
    '2',
    '3',
    { requested: '0-3', from: '0-1034' },
    ...numbers(1034, 1100),
  ]);
});

test('a gap in the tail: a reader whose replay read into it hears it; one that read past it does not', async () => {
  const { engine } = steppedEngine();
  await appendTrimmed(engine, 1, 5, 100);
  const inside = new CatchUp('0-3');
  const past = new CatchUp('0-3');
  const one = gapReader();
  const two = gapReader();
  expect(await inside.run(engine, 'log', one.reader)).toBe(true); // 4, 5: the tail is at 3
  await appendTrimmed(engine, 6, 15, 100);
  expect(await past.run(engine, 'log', two.reader)).toBe(true); // 4..15
  await appendTrimmed(engine, 16, 16, 2); // the log keeps 15, 16
  for (const catchUp of [inside, past]) {
    catchUp.gap('0-3', '0-15');
    catchUp.hold(entry(15));
    catchUp.hold(entry(16));
  }
  expect(await inside.run(engine, 'log', one.reader)).toBe(true);
  expect(await past.run(engine, 'log', two.reader)).toBe(true);
  expect(one.received).toEqual(['4', '5', { requested: '0-5', from: '0-15' }, '15', '16']);
  expect(two.received).toEqual([...numbers(4, 15), '16']);
});
