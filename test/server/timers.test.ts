import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { createEventStream, type EventStreamWriter } from '../../src/server/index.ts';
import { deferred, textReader } from '../helpers/server-stream.ts';

const post = () => new Request('http://localhost/api/chat', { method: 'POST' });

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

/** A producer that waits until the test lets it go, exposing its stream. */
function heldProducer() {
  const opened = deferred<EventStreamWriter>();
  const release = deferred();
  const producer = async (stream: EventStreamWriter) => {
    opened.resolve(stream);
    await release.promise;
  };
  return { producer, opened: opened.promise, release: release.resolve };
}

describe('heartbeat', () => {
  test('a comment after heartbeatMs of silence, not a millisecond before', async () => {
    const held = heldProducer();
    const reader = textReader(createEventStream(post(), held.producer).body);
    await held.opened;
    await vi.advanceTimersByTimeAsync(14_999);
    const pending = reader.until(':\n\n');
    await vi.advanceTimersByTimeAsync(0);
    expect(reader.text).toBe('');
    await vi.advanceTimersByTimeAsync(1);
    expect(await pending).toBe(':\n\n');
    await vi.advanceTimersByTimeAsync(15_000);
    expect(await reader.until(':\n\n:\n\n')).toBe(':\n\n:\n\n');
    held.release();
    expect(await reader.all()).toBe(':\n\n:\n\nevent: done\ndata: {}\n\n');
  });

  test('traffic pushes the heartbeat back', async () => {
    const held = heldProducer();
    const reader = textReader(createEventStream(post(), held.producer, { heartbeatMs: 1000 }).body);
    const stream = await held.opened;
    await vi.advanceTimersByTimeAsync(900);
    await stream.send({ data: 'a' });
    await vi.advanceTimersByTimeAsync(900); // 1800 ms in, 900 ms after the event: no beat yet
    await reader.until('data: a\n\n');
    await vi.advanceTimersByTimeAsync(0);
    expect(reader.text).toBe('data: a\n\n');
    await vi.advanceTimersByTimeAsync(100); // 1000 ms after the event
    expect(await reader.until(':\n\n')).toBe('data: a\n\n:\n\n');
    held.release();
    await reader.all();
  });

  test('heartbeatMs: 0 disables it', async () => {
    const held = heldProducer();
    const reader = textReader(createEventStream(post(), held.producer, { heartbeatMs: 0 }).body);
    await held.opened;
    expect(vi.getTimerCount()).toBe(0);
    held.release();
    expect(await reader.all()).toBe('event: done\ndata: {}\n\n');
  });

  test('every timer is gone once the stream ends', async () => {
    const held = heldProducer();
    const reader = textReader(
      createEventStream(post(), held.producer, { maxDurationMs: 60_000, writeTimeoutMs: 5_000 })
        .body,
    );
    const stream = await held.opened;
    void stream.send({ data: 'queued while nobody reads' }); // arms the write timeout
    expect(vi.getTimerCount()).toBe(3);
    held.release();
    await reader.all();
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('deadline', () => {
  test('deadlineMarginMs before maxDurationMs: a jittered retry hint, no done, signal aborts', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.25);
    const held = heldProducer();
    const reader = textReader(
      createEventStream(post(), held.producer, {
        maxDurationMs: 40_000,
        deadlineMarginMs: 2_000,
        retryMs: 3_000,
        retryJitterMs: 1_000,
        heartbeatMs: 0,
      }).body,
    );
    const stream = await held.opened;
    const text = reader.all(); // a client that reads all along
    await stream.send({ id: '5', data: 'x' });
    await vi.advanceTimersByTimeAsync(37_999);
    expect(stream.signal.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(stream.signal.aborted).toBe(true);
    expect((stream.signal.reason as DOMException).name).toBe('TimeoutError');
    expect(await text).toBe('id: 5\ndata: x\n\nretry: 3250\n\n');
    held.release();
    expect(vi.getTimerCount()).toBe(0);
  });

  test('a producer that ignores the signal is not reported when its sends reject', async () => {
    const onError = vi.fn();
    const response = createEventStream(
      post(),
      async (stream) => {
        for (let index = 0; ; index++) {
          await stream.send({ data: index });
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      },
      { maxDurationMs: 1_000, deadlineMarginMs: 100, retryJitterMs: 0, onError },
    );
    const reader = textReader(response.body);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await reader.all()).toMatch(/data: 8\n\nretry: 1000\n\n$/);
    await vi.advanceTimersByTimeAsync(200);
    expect(onError).not.toHaveBeenCalled();
  });

  test('the server signal ends streams like the deadline (graceful shutdown)', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const shutdown = new AbortController();
    const held = heldProducer();
    const reader = textReader(
      createEventStream(post(), held.producer, { signal: shutdown.signal, retryMs: 500 }).body,
    );
    const stream = await held.opened;
    shutdown.abort();
    expect(stream.signal.aborted).toBe(true);
    expect(await reader.all()).toBe('retry: 500\n\n');
    held.release();
  });
});
