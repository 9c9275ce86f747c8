/**
 * `idleTimeoutMs: 'auto'`: learns the cadence of a stream and times out at a multiple of the
 * longest gap it has seen, within bounds (fake timers: time is the subject).
 */
import { afterEach, beforeEach, expect, test, vi } from 'vitest';
import {
  AUTO_IDLE_FACTOR,
  AUTO_IDLE_MAX_MS,
  AUTO_IDLE_MIN_MS,
  createIdleLearner,
  watchIdle,
} from '../../src/client/_idle.ts';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

test('waits up to the maximum for the response and its first bytes', async () => {
  const onIdle = vi.fn();
  const idle = watchIdle('auto', createIdleLearner(), onIdle)!;
  await vi.advanceTimersByTimeAsync(AUTO_IDLE_MAX_MS - 1);
  expect(onIdle).not.toHaveBeenCalled();
  idle.opened();
  await vi.advanceTimersByTimeAsync(AUTO_IDLE_MAX_MS - 1);
  expect(onIdle).not.toHaveBeenCalled();
  await vi.advanceTimersByTimeAsync(1);
  expect(onIdle).toHaveBeenCalledOnce();
  idle.stop();
});

test('a stream that answered at once and stalls after its first bytes: seconds', async () => {
  const onIdle = vi.fn();
  const idle = watchIdle('auto', createIdleLearner(), onIdle)!;
  idle.opened();
  await vi.advanceTimersByTimeAsync(40);
  idle.chunk(); // every event in one chunk, 40 ms after the headers, then nothing
  expect(idle.timeoutMs).toBe(AUTO_IDLE_MIN_MS);
  await vi.advanceTimersByTimeAsync(AUTO_IDLE_MIN_MS);
  expect(onIdle).toHaveBeenCalledOnce();
  idle.stop();
});

test('a model that thought for 20 s before its first token gets 4 times that', async () => {
  const onIdle = vi.fn();
  const idle = watchIdle('auto', createIdleLearner(), onIdle)!;
  idle.opened();
  await vi.advanceTimersByTimeAsync(20_000);
  idle.chunk();
  expect(idle.timeoutMs).toBe(AUTO_IDLE_MAX_MS);
  idle.stop();
});

test('a fast token stream that stalls is detected in seconds', async () => {
  const onIdle = vi.fn();
  const idle = watchIdle('auto', createIdleLearner(), onIdle)!;
  idle.opened();
  for (let token = 0; token < 50; token++) {
    idle.chunk();
    await vi.advanceTimersByTimeAsync(30); // a token every 30 ms
  }
  expect(idle.timeoutMs).toBe(AUTO_IDLE_MIN_MS);
  await vi.advanceTimersByTimeAsync(AUTO_IDLE_MIN_MS - 30 - 1);
  expect(onIdle).not.toHaveBeenCalled();
  await vi.advanceTimersByTimeAsync(1);
  expect(onIdle).toHaveBeenCalledOnce();
  idle.stop();
});

test('a slow but alive stream (heartbeats every 15 s) is not cut', async () => {
  const onIdle = vi.fn();
  const idle = watchIdle('auto', createIdleLearner(), onIdle)!;
  idle.opened();
  idle.chunk();
  await vi.advanceTimersByTimeAsync(2_000);
  idle.chunk(); // tokens at first...
  await vi.advanceTimersByTimeAsync(4_900);
  idle.chunk(); // ...then a heartbeat just before the 5 s floor: the gap is learned
  for (let beat = 0; beat < 5; beat++) {
    await vi.advanceTimersByTimeAsync(4_900 * 2); // gaps double: still within 4 × the longest
    idle.chunk();
  }
  expect(onIdle).not.toHaveBeenCalled();
  expect(idle.timeoutMs).toBe(Math.min(AUTO_IDLE_MAX_MS, AUTO_IDLE_FACTOR * 4_900 * 2));
  idle.stop();
});

test('what was learned carries over to the next attempt; its first bytes get the maximum', async () => {
  const learner = createIdleLearner();
  learner.record(3_000);
  expect(learner.timeoutMs(false)).toBe(12_000);
  expect(learner.timeoutMs(true)).toBe(AUTO_IDLE_MAX_MS);
  learner.record(100);
  expect(learner.timeoutMs(false)).toBe(12_000); // the longest gap wins
  learner.record(60_000);
  expect(learner.timeoutMs(false)).toBe(AUTO_IDLE_MAX_MS);
});

test('a fixed idleTimeoutMs restarts on activity only', async () => {
  const onIdle = vi.fn();
  const idle = watchIdle(100, undefined, onIdle)!;
  await vi.advanceTimersByTimeAsync(90);
  idle.chunk(); // bytes are not activity for a fixed timeout (a comment may not be)
  await vi.advanceTimersByTimeAsync(10);
  expect(onIdle).toHaveBeenCalledOnce();
  expect(watchIdle(undefined, undefined, onIdle)).toBeUndefined();
  expect(watchIdle(0, undefined, onIdle)).toBeUndefined();
});
