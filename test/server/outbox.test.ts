/**
 * The outbox in front of a sink (src/server/_outbox.ts), as the Node adapter's direct lane drives
 * it: the cap on what a stream holds counts what the sink took and has not sent, so a frozen
 * client holds no more than `maxBufferedBytes` plus one event; an event alone in the queue still
 * goes through.
 */
import { afterEach, beforeEach, expect, test, vi } from 'vitest';
import type { ByteSink } from '../../src/_internal/direct-lane.ts';
import { Outbox, type OutboxOwner } from '../../src/server/_outbox.ts';

/** A socket that takes every chunk and sends none of it (a frozen client's, once full). */
class FrozenSink implements ByteSink {
  pendingBytes = 0;
  writes = 0;
  write(chunk: Uint8Array): boolean {
    this.writes++;
    this.pendingBytes += chunk.byteLength;
    return false;
  }
  end(): void {}
  fail(): void {}
}

let heard: string[];
let owner: OutboxOwner;
let outbox: Outbox;
let sink: FrozenSink;
const bytes = (size: number) => new Uint8Array(size);

beforeEach(() => {
  vi.useFakeTimers();
  heard = [];
  owner = {
    options: { highWaterMark: 100, maxBufferedBytes: 1000, writeTimeoutMs: 5000 },
    cancelled: () => heard.push('cancelled'),
    stalled: () => heard.push('stalled'),
    overflowed: () => heard.push('overflowed'),
    closed: () => heard.push('closed'),
    sent: () => {},
  };
  outbox = new Outbox(owner);
  sink = new FrozenSink();
  outbox.attach(sink); // the sink has room: the first chunk goes to it at once
});
afterEach(() => {
  outbox.fail(new Error('test over'));
  vi.useRealTimers();
});

test('what the sink holds unsent counts against maxBufferedBytes', () => {
  outbox.pushBytes(bytes(600)); // taken by the sink, which is full now
  expect(sink.writes).toBe(1);
  expect(outbox.unsentBytes).toBe(600);
  outbox.pushBytes(bytes(300)); // queued: 300 + 600 held
  expect(heard).toEqual([]);
  outbox.pushBytes(bytes(300)); // 600 + 600 held, more than 1000
  expect(heard).toEqual(['overflowed']);
  expect(outbox.bufferedBytes).toBe(600);
});

test('an event alone in the queue goes through, however large, while the sink holds bytes', () => {
  outbox.pushBytes(bytes(600));
  outbox.pushBytes(bytes(1500)); // larger than the cap on its own: let through
  expect(heard).toEqual([]);
  expect(outbox.bufferedBytes + outbox.unsentBytes).toBe(2100); // the cap plus one event, at most
  outbox.pushBytes(bytes(1));
  expect(heard).toEqual(['overflowed']);
});

test('a sink that stopped taking chunks, and nothing more queued: stalled after writeTimeoutMs', async () => {
  outbox.pushBytes(bytes(600)); // the sink holds it unsent; nothing else comes (a quiet topic)
  await vi.advanceTimersByTimeAsync(4999);
  expect(heard).toEqual([]);
  await vi.advanceTimersByTimeAsync(1);
  expect(heard).toEqual(['stalled']);
});

test('a sink that drains in time is not stalled', async () => {
  outbox.pushBytes(bytes(600));
  await vi.advanceTimersByTimeAsync(4000);
  sink.pendingBytes = 0;
  outbox.drained(); // the socket sent it
  await vi.advanceTimersByTimeAsync(4000);
  outbox.pushBytes(bytes(600)); // full again: a new writeTimeoutMs from here
  await vi.advanceTimersByTimeAsync(4999);
  expect(heard).toEqual([]);
  await vi.advanceTimersByTimeAsync(1);
  expect(heard).toEqual(['stalled']);
});

test('data waiting writeTimeoutMs with the sink taking none: stalled', async () => {
  outbox.pushBytes(bytes(600));
  outbox.pushBytes(bytes(50));
  await vi.advanceTimersByTimeAsync(4999);
  expect(heard).toEqual([]);
  await vi.advanceTimersByTimeAsync(1);
  expect(heard).toEqual(['stalled']);
});
