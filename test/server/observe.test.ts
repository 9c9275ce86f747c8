/**
 * The core's observer seam (`observe`), without OpenTelemetry: what a stream tells its observer,
 * and why it says the stream ended, for each way a stream ends.
 */
import { describe, expect, test } from 'vitest';
import { StreamError } from '../../src/errors.ts';
import {
  createEventStream,
  type ObserveStream,
  type StreamEndReason,
} from '../../src/server/index.ts';
import { deferred } from '../helpers/server-stream.ts';

interface Heard {
  events: number;
  bytes: number;
  ends: Array<{ reason: StreamEndReason; error: unknown }>;
  ended: Promise<void>;
}

function observer(): { observe: ObserveStream; heard: Heard } {
  const ended = deferred();
  const heard: Heard = { events: 0, bytes: 0, ends: [], ended: ended.promise };
  return {
    heard,
    observe: () => ({
      event: () => void heard.events++,
      sent: (bytes) => void (heard.bytes += bytes),
      end(reason, error) {
        heard.ends.push({ reason, error });
        ended.resolve();
      },
    }),
  };
}

const request = (init?: RequestInit) => new Request('http://x.test/stream', init);

describe('observe', () => {
  test('completed: events (not comments), every byte handed over (the end too), once', async () => {
    const { observe, heard } = observer();
    const response = createEventStream(
      request(),
      async (stream) => {
        await stream.send({ data: 'a' });
        await stream.comment('note');
        await stream.progress({ phase: 'x' });
      },
      { observe, heartbeatMs: 0 },
    );
    const body = new Uint8Array(await response.arrayBuffer());
    await heard.ended;
    expect(heard.events).toBe(3); // a, progress, done
    expect(heard.bytes).toBe(body.byteLength);
    expect(heard.ends).toEqual([{ reason: 'completed', error: undefined }]);
  });

  test('deadline, and the server signal as cancelled', async () => {
    const deadline = observer();
    const atDeadline = createEventStream(
      request(),
      (stream) => new Promise((resolve) => stream.signal.addEventListener('abort', resolve)),
      { observe: deadline.observe, maxDurationMs: 100, deadlineMarginMs: 50, heartbeatMs: 0 },
    );
    await atDeadline.text();
    await deadline.heard.ended;
    expect(deadline.heard.ends).toEqual([{ reason: 'deadline', error: undefined }]);
    expect(deadline.heard.events).toBe(0); // a retry: hint is not an event

    const shutdown = new AbortController();
    const cancelled = observer();
    const stopped = createEventStream(
      request(),
      (stream) => new Promise((resolve) => stream.signal.addEventListener('abort', resolve)),
      { observe: cancelled.observe, signal: shutdown.signal, heartbeatMs: 0 },
    );
    shutdown.abort();
    await stopped.text();
    await cancelled.heard.ended;
    expect(cancelled.heard.ends).toEqual([{ reason: 'cancelled', error: undefined }]);
  });

  test('error (with the error), client-left, slow-consumer (with its StreamError)', async () => {
    const failing = observer();
    const failure = new Error('boom');
    await createEventStream(
      request(),
      () => {
        throw failure;
      },
      { observe: failing.observe, onError: () => {} },
    ).text();
    await failing.heard.ended;
    expect(failing.heard.ends).toEqual([{ reason: 'error', error: failure }]);
    expect(failing.heard.events).toBe(1); // the error event

    const leaving = observer();
    const client = new AbortController();
    const left = createEventStream(
      request({ signal: client.signal }),
      (stream) => new Promise((resolve) => stream.signal.addEventListener('abort', resolve)),
      { observe: leaving.observe },
    );
    const reader = left.body!.getReader();
    client.abort();
    await leaving.heard.ended;
    expect(leaving.heard.ends).toEqual([{ reason: 'client-left', error: undefined }]);
    await reader.cancel();

    const slow = observer();
    createEventStream(
      request(),
      (stream) => {
        for (let index = 0; index < 10; index++) void stream.send({ data: 'x'.repeat(100) });
      },
      { observe: slow.observe, highWaterMark: 100, maxBufferedBytes: 300, onError: () => {} },
    ); // nobody reads the body
    await slow.heard.ended;
    expect(slow.heard.ends).toHaveLength(1);
    expect(slow.heard.ends[0]!.reason).toBe('slow-consumer');
    const error = slow.heard.ends[0]!.error;
    expect(StreamError.isInstance(error) && error.code).toBe('slow-consumer');
  });

  test('within runs the producer; a bad observe is a TypeError at once', async () => {
    const order: string[] = [];
    const observe: ObserveStream = () => ({
      event: () => {},
      sent: () => {},
      end: () => {},
      within(go) {
        order.push('enter');
        const result = go();
        order.push('left');
        return result;
      },
    });
    await createEventStream(
      request(),
      async () => {
        order.push('producer');
      },
      { observe },
    ).text();
    expect(order).toEqual(['enter', 'producer', 'left']);
    expect(() => createEventStream(request(), async () => {}, { observe: 'yes' as never })).toThrow(
      new TypeError('observe must be a function, got string.'),
    );
  });
});
