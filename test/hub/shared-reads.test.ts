/**
 * Shared reads of a log (src/hub/_shared-reads.ts): a question asked while the same one is in
 * flight waits for the next read, made once that one returns, never for the answer in flight;
 * other questions read on their own; a failure reaches only the askers of that read.
 */
import { expect, test, vi } from 'vitest';
import { SharedReads } from '../../src/hub/_shared-reads.ts';
import type { LogEntry } from '../../src/hub/engine.ts';

type Bounds = { first: string; last: string } | undefined;

/** A reader whose every read waits until the test answers it, in the order made. */
function heldReader() {
  const reads: Array<{
    what: string;
    answer(value: unknown): void;
    fail(error: unknown): void;
  }> = [];
  const held = <T>(what: string) =>
    new Promise<T>((resolve, reject) => {
      reads.push({ what, answer: (value) => resolve(value as T), fail: reject });
    });
  return {
    reads,
    reader: {
      bounds: (key: string) => held<Bounds>(`bounds ${key}`),
      range: (key: string, after: string | undefined, count: number) =>
        held<LogEntry[]>(`range ${key} ${after ?? '(start)'} ${count}`),
    },
  };
}

const entry = (id: string): LogEntry => ({ id, event: { data: id } });
const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

test('questions asked while the same read is in flight share the next read, made once it returns', async () => {
  const { reads, reader } = heldReader();
  const shared = new SharedReads(reader);
  const first = shared.range('t', '1-0', 257);
  const waiting = Array.from({ length: 100 }, () => shared.range('t', '1-0', 257));
  expect(reads.map((read) => read.what)).toEqual(['range t 1-0 257']);

  reads[0]!.answer([entry('2-0')]);
  expect(await first).toEqual([entry('2-0')]);
  await tick();
  // Not the answer in flight when they asked: a read of their own, one for all of them.
  expect(reads.map((read) => read.what)).toEqual(['range t 1-0 257', 'range t 1-0 257']);
  const later = shared.range('t', '1-0', 257); // asked while the second is in flight
  reads[1]!.answer([entry('2-0'), entry('3-0')]);
  const answers = await Promise.all(waiting);
  for (const answer of answers) expect(answer).toEqual([entry('2-0'), entry('3-0')]);
  expect(new Set(answers).size).toBe(1);
  await tick();
  expect(reads).toHaveLength(3);
  reads[2]!.answer([]);
  expect(await later).toEqual([]);
  await tick();
  expect(reads).toHaveLength(3); // nobody waited for a fourth

  // Everything landed: the next question reads anew.
  const again = shared.range('t', '1-0', 257);
  expect(reads).toHaveLength(4);
  reads[3]!.answer([entry('4-0')]);
  expect(await again).toEqual([entry('4-0')]);
});

test('other questions read on their own: another key, cursor, count, the start, or the bounds', async () => {
  const { reads, reader } = heldReader();
  const shared = new SharedReads(reader);
  const asked = [
    shared.range('t', '1-0', 257),
    shared.range('u', '1-0', 257),
    shared.range('t', '2-0', 257),
    shared.range('t', '1-0', 1),
    shared.range('t', undefined, 257),
    shared.bounds('t'),
    shared.bounds('u'),
    // A key that ends like another's cursor reads on its own too.
    shared.range('t1-0', undefined, 257),
  ];
  expect(reads.map((read) => read.what)).toEqual([
    'range t 1-0 257',
    'range u 1-0 257',
    'range t 2-0 257',
    'range t 1-0 1',
    'range t (start) 257',
    'bounds t',
    'bounds u',
    'range t1-0 (start) 257',
  ]);
  for (const read of reads) read.answer(read.what.startsWith('bounds') ? undefined : []);
  await Promise.all(asked);
});

test('a failed read rejects its askers only; those waiting for the next get its answer', async () => {
  const { reads, reader } = heldReader();
  const shared = new SharedReads(reader);
  const first = shared.bounds('t');
  const second = shared.bounds('t');
  const failure = new Error('connection lost');
  reads[0]!.fail(failure);
  await expect(first).rejects.toBe(failure);
  await tick();
  expect(reads).toHaveLength(2);
  reads[1]!.answer({ first: '1-0', last: '9-0' });
  expect(await second).toEqual({ first: '1-0', last: '9-0' });

  // The next read fails: everyone waiting for it hears it.
  const third = shared.bounds('t');
  const fourth = shared.bounds('t');
  const fifth = shared.bounds('t');
  reads[2]!.answer(undefined);
  expect(await third).toBeUndefined();
  await tick();
  reads[3]!.fail(failure);
  await expect(fourth).rejects.toBe(failure);
  await expect(fifth).rejects.toBe(failure);
});

test('a reader that throws instead of rejecting rejects its askers, and the question reads again later', async () => {
  let calls = 0;
  const failure = new TypeError('not connected');
  const shared = new SharedReads({
    bounds: () => {
      calls++;
      if (calls === 1) throw failure;
      return Promise.resolve({ first: '1-0', last: '1-0' });
    },
    range: () => Promise.resolve([]),
  });
  await expect(shared.bounds('t')).rejects.toBe(failure);
  expect(await shared.bounds('t')).toEqual({ first: '1-0', last: '1-0' });
  expect(calls).toBe(2);
});

test('a read that hangs holds the next one back for the patience only: then it is made beside it', async () => {
  const { reads, reader } = heldReader();
  const patienceMs = 30;
  const shared = new SharedReads(reader, patienceMs);
  const hung = shared.bounds('t'); // never answered until the end
  const started = performance.now();
  const waiting = [shared.bounds('t'), shared.bounds('t')];
  expect(reads).toHaveLength(1);
  await vi.waitFor(() => expect(reads).toHaveLength(2), { timeout: 2000, interval: 5 });
  expect(performance.now() - started).toBeGreaterThanOrEqual(patienceMs - 2);
  // Asked while the second is in flight: waits for it (or the patience), not for the hung one.
  const third = shared.bounds('t');
  reads[1]!.answer({ first: '1-0', last: '2-0' });
  for (const answer of await Promise.all(waiting))
    expect(answer).toEqual({ first: '1-0', last: '2-0' });
  await vi.waitFor(() => expect(reads).toHaveLength(3), { timeout: 2000, interval: 5 });
  reads[2]!.answer({ first: '1-0', last: '3-0' });
  expect(await third).toEqual({ first: '1-0', last: '3-0' });
  // The hung read answers at last: its asker gets its answer, and nothing else is read.
  reads[0]!.answer({ first: '1-0', last: '1-0' });
  expect(await hung).toEqual({ first: '1-0', last: '1-0' });
  await tick();
  expect(reads).toHaveLength(3);
  // All landed: a new question reads at once.
  const fresh = shared.bounds('t');
  expect(reads).toHaveLength(4);
  reads[3]!.answer(undefined);
  expect(await fresh).toBeUndefined();
});
