/**
 * The shared clock of heartbeats (src/server/_heartbeats.ts) that streams on the Node adapter's
 * direct lane use instead of a timer each: every beat exactly when due, traffic pushing it back,
 * one timer for all of them.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { now } from '../../src/_internal/timers.ts';
import {
  addHeartbeat,
  type Beating,
  heartbeatsScheduled,
  removeHeartbeat,
} from '../../src/server/_heartbeats.ts';

let added: Beating[] = [];
let beats: string[] = [];
let start = 0;

beforeEach(() => {
  vi.useFakeTimers();
  start = now();
  beats = [];
});
afterEach(() => {
  for (const stream of added) removeHeartbeat(stream);
  added = [];
  vi.useRealTimers();
});

/** A stream that beats every `intervalMs` of silence, logging `name@ms`. */
function stream(name: string, intervalMs: number): Beating & { touch(): void } {
  let last = now();
  const beating = {
    heartbeatIndex: -1,
    heartbeatDue: () => last + intervalMs,
    beat(time: number) {
      last = time;
      beats.push(`${name}@${time - start}`);
      return time + intervalMs;
    },
    touch() {
      last = now();
    },
  };
  addHeartbeat(beating, beating.heartbeatDue());
  added.push(beating);
  return beating;
}

describe('the shared heartbeat clock', () => {
  test('each stream beats after exactly its interval of silence, with one timer for all', async () => {
    stream('a', 1000);
    stream('b', 300);
    stream('c', 300);
    expect(vi.getTimerCount()).toBe(1);
    expect(heartbeatsScheduled()).toBe(3);
    await vi.advanceTimersByTimeAsync(299);
    expect(beats).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(beats.sort()).toEqual(['b@300', 'c@300']);
    await vi.advanceTimersByTimeAsync(700);
    expect(beats.sort()).toEqual(['a@1000', 'b@300', 'b@600', 'b@900', 'c@300', 'c@600', 'c@900']);
    expect(vi.getTimerCount()).toBe(1);
  });

  test('traffic pushes a beat back to a whole interval after it', async () => {
    const a = stream('a', 1000);
    await vi.advanceTimersByTimeAsync(900);
    a.touch();
    await vi.advanceTimersByTimeAsync(999); // 1899 ms in, 999 ms after the traffic
    expect(beats).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(beats).toEqual(['a@1900']);
    await vi.advanceTimersByTimeAsync(1000);
    expect(beats).toEqual(['a@1900', 'a@2900']);
  });

  test('a removed stream beats no more; the timer goes with the last one', async () => {
    const a = stream('a', 100);
    const b = stream('b', 150);
    await vi.advanceTimersByTimeAsync(100);
    removeHeartbeat(a);
    await vi.advanceTimersByTimeAsync(200);
    expect(beats).toEqual(['a@100', 'b@150', 'b@300']);
    removeHeartbeat(b);
    expect(heartbeatsScheduled()).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  test('a stream ended by its own beat leaves the heap in order', async () => {
    const streams = [100, 100, 200, 300].map((ms, index) => stream(`s${index}`, ms));
    const first = streams[0]!;
    const beat = first.beat.bind(first);
    first.beat = (time) => {
      const next = beat(time);
      removeHeartbeat(first);
      return next;
    };
    await vi.advanceTimersByTimeAsync(300);
    expect(beats.sort()).toEqual(['s0@100', 's1@100', 's1@200', 's1@300', 's2@200', 's3@300']);
  });

  test('fake timers swapped between streams: a new stream does not wait on a timer that never fires', async () => {
    stream('old', 100); // armed on this fake clock
    vi.useRealTimers();
    vi.useFakeTimers(); // a new clock: the old one's timer never fires
    start = now();
    stream('new', 500);
    await vi.advanceTimersByTimeAsync(500);
    expect(beats).toContain('new@500');
  });
});
