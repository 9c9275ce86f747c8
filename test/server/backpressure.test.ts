import { afterEach, describe, expect, test, vi } from 'vitest';
import { StreamError } from '../../src/errors.ts';
import { createEventStream, type EventStreamWriter } from '../../src/server/index.ts';
import { deferred, textReader } from '../helpers/server-stream.ts';

const post = () => new Request('http://localhost/api/chat', { method: 'POST' });

afterEach(() => {
  vi.useRealTimers();
});

function open(options: Parameters<typeof createEventStream>[2]) {
  const opened = deferred<EventStreamWriter>();
  const release = deferred();
  const response = createEventStream(
    post(),
    async (stream) => {
      opened.resolve(stream);
      await release.promise;
    },
    options,
  );
  return { response, opened: opened.promise, release: release.resolve };
}

describe('backpressure', () => {
  test('send resolves at once below highWaterMark and waits above it until the client reads', async () => {
    const { response, opened, release } = open({ highWaterMark: 16 });
    const stream = await opened;
    let settled = false;
    await stream.send({ data: 'abc' }); // 11 bytes: room left
    expect(stream.bufferedBytes).toBe(11);
    const waiting = stream.send({ data: 'defgh' }).then(() => {
      settled = true;
    });
    expect(stream.bufferedBytes).toBe(24);
    await Promise.resolve();
    expect(settled).toBe(false);
    const reader = response.body!.getReader();
    const { value } = await reader.read();
    expect(new TextDecoder().decode(value)).toBe('data: abc\n\ndata: defgh\n\n'); // one chunk
    await waiting;
    expect(stream.bufferedBytes).toBe(0);
    release();
    await reader.cancel();
  });

  test('coalesce keys replace a queued event: the latest value wins, in order of the last send', async () => {
    const { response, opened, release } = open({});
    const stream = await opened;
    void stream.send({ data: { cpu: 1 } }, { coalesce: 'cpu' });
    void stream.send({ data: 'log line' });
    void stream.send({ data: { cpu: 2 } }, { coalesce: 'cpu' });
    void stream.send({ data: { mem: 7 } }, { coalesce: 'mem' });
    void stream.send({ data: { cpu: 3 } }, { coalesce: 'cpu' });
    void stream.progress({ phase: 'a', fraction: 0.1 });
    void stream.progress({ phase: 'a', fraction: 0.2 });
    const expected =
      'data: log line\n\ndata: {"mem":7}\n\ndata: {"cpu":3}\n\n' +
      'event: progress\ndata: {"phase":"a","fraction":0.2}\n\n';
    expect(stream.bufferedBytes).toBe(new TextEncoder().encode(expected).byteLength);
    release();
    expect(await textReader(response.body).all()).toBe(`${expected}event: done\ndata: {}\n\n`);
  });

  test('a producer that does not await cannot queue past maxBufferedBytes: the client is dropped', async () => {
    const onError = vi.fn();
    const event = { data: 'x'.repeat(1018) }; // 1026 bytes encoded
    let largest = 0;
    let captured: EventStreamWriter | undefined;
    const response = createEventStream(
      post(),
      async (stream) => {
        captured = stream;
        for (let index = 0; index < 1000 && !stream.signal.aborted; index++) {
          void stream.send(event);
          largest = Math.max(largest, stream.bufferedBytes);
        }
      },
      { highWaterMark: 2048, maxBufferedBytes: 10_240, onError },
    );
    await expect(response.body!.getReader().read()).rejects.toBeInstanceOf(StreamError);
    expect(largest).toBeLessThanOrEqual(10_240);
    expect(captured?.bufferedBytes).toBe(0);
    expect(onError).toHaveBeenCalledOnce();
    const error = onError.mock.calls[0]![0] as StreamError;
    expect(error.code).toBe('slow-consumer');
    expect(error.message).toMatch(/POST http:\/\/localhost\/api\/chat.*maxBufferedBytes \(10240\)/);
    expect(captured?.signal.reason).toBe(error);
  });

  test('one event larger than the cap on its own gets through', async () => {
    const response = createEventStream(
      post(),
      async (stream) => {
        await stream.send({ data: 'y'.repeat(5000) });
      },
      { highWaterMark: 100, maxBufferedBytes: 1000 },
    );
    expect(await textReader(response.body).all()).toHaveLength(5008 + 22);
  });

  test('a client that reads nothing for writeTimeoutMs is dropped; the waiting send rejects', async () => {
    vi.useFakeTimers();
    const onError = vi.fn();
    const rejected = deferred<unknown>();
    let captured: EventStreamWriter | undefined;
    const response = createEventStream(
      post(),
      async (stream) => {
        captured = stream;
        for (;;) await stream.send({ data: 'z'.repeat(100) });
      },
      { highWaterMark: 1000, writeTimeoutMs: 5_000, onError },
    );
    await vi.advanceTimersByTimeAsync(0);
    captured!.send({ data: 'more' }).catch(rejected.resolve);
    expect(captured!.bufferedBytes).toBeLessThanOrEqual(1000 + 108 + 12);
    await vi.advanceTimersByTimeAsync(4_999);
    expect(onError).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(onError).toHaveBeenCalledOnce();
    expect(onError.mock.calls[0]![0]).toMatchObject({ code: 'slow-consumer' });
    expect(await rejected.promise).toBe(onError.mock.calls[0]![0]);
    expect(captured!.signal.aborted).toBe(true);
    await expect(response.body!.getReader().read()).rejects.toMatchObject({
      code: 'slow-consumer',
    });
    expect(vi.getTimerCount()).toBe(0);
  });

  test('a slow client that keeps reading is never dropped', async () => {
    vi.useFakeTimers();
    const onError = vi.fn();
    const response = createEventStream(
      post(),
      async (stream) => {
        for (let index = 0; index < 20; index++) {
          await stream.send({ data: { value: index } }, { coalesce: 'value' });
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      },
      { writeTimeoutMs: 1_000, onError },
    );
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    for (;;) {
      const read = reader.read();
      await vi.advanceTimersByTimeAsync(900); // reads once every 900 ms: slow, alive
      const { done, value } = await read;
      if (done) break;
      text += decoder.decode(value);
    }
    expect(onError).not.toHaveBeenCalled();
    expect(text).toContain('data: {"value":19}\n\nevent: done');
    expect(text.split('value').length - 1).toBeLessThan(20); // some were coalesced away
  });
});

describe('disconnect on the Web handler', () => {
  test('cancelling the body aborts the signal, runs the generator finally, clears the timers', async () => {
    vi.useFakeTimers();
    const cleaned = deferred();
    let captured: EventStreamWriter | undefined;
    const response = createEventStream(
      post(),
      async function* (stream) {
        captured = stream;
        try {
          for (let index = 0; ; index++) {
            yield { data: index };
            await new Promise((resolve) => setTimeout(resolve, 10));
          }
        } finally {
          cleaned.resolve();
        }
      },
      { maxDurationMs: 600_000, heartbeatMs: 1_000 },
    );
    const reader = textReader(response.body);
    await reader.until('data: 0\n\n');
    await reader.cancel(new Error('tab closed'));
    expect(captured!.signal.aborted).toBe(true);
    expect((captured!.signal.reason as Error).message).toBe('tab closed');
    await vi.advanceTimersByTimeAsync(10); // the generator reaches its next yield
    await cleaned.promise;
    expect(vi.getTimerCount()).toBe(0);
  });

  // Quietly: an errored body would only make the runtime log the reason (Deno printed the
  // request's AbortError for every disconnect), and nobody is there to read it.
  test('a request signal aborting does the same, and the body ends without an error', async () => {
    const cleaned = deferred();
    const client = new AbortController();
    let captured = new AbortController().signal;
    const response = createEventStream(
      new Request('http://localhost/s', { signal: client.signal }),
      async function* (stream) {
        captured = stream.signal;
        try {
          yield { data: 'first' };
          await new Promise((_resolve, reject) => {
            stream.signal.addEventListener('abort', () => reject(stream.signal.reason));
          });
        } finally {
          cleaned.resolve();
        }
      },
    );
    const reader = textReader(response.body);
    await reader.until('data: first\n\n');
    client.abort();
    await cleaned.promise;
    expect(captured.reason).toBe(client.signal.reason);
    await expect(reader.all()).resolves.toBe('data: first\n\n'); // closed, not errored
  });
});
