/**
 * A client that sends its request and never reads: the kernel buffers fill, Node's write returns
 * false, the adapter waits for `drain`, and the stream's own queue is all that can grow. It must
 * stay bounded, and the client must be dropped.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { NodeContext } from '../../src/adapters/node.ts';
import type { StreamError } from '../../src/errors.ts';
import { createEventStream, type EventStreamWriter } from '../../src/server/index.ts';
import { frameworks, type RunningServer } from '../helpers/server-frameworks.ts';
import {
  collectEvents,
  deferred,
  rawRequest,
  watchUnhandledRejections,
} from '../helpers/server-stream.ts';

const EVENT = { data: 'x'.repeat(16 * 1024 - 8) }; // 16 KiB on the wire
const EVENT_BYTES = 16 * 1024;
const HIGH_WATER_MARK = 64 * 1024;
const MAX_BUFFERED = 256 * 1024;

interface Run {
  stream?: EventStreamWriter;
  largest: number;
  /** The most bytes held in the process: the stream's queue plus what the socket has not sent. */
  largestHeld: number;
  sent: number;
  error: ReturnType<typeof deferred<StreamError>>;
}

describe('a frozen client', () => {
  let server: RunningServer;
  let run: Run;
  const rejections = watchUnhandledRejections();
  const fresh = (): Run => ({
    largest: 0,
    largestHeld: 0,
    sent: 0,
    error: deferred<StreamError>(),
  });

  beforeAll(async () => {
    server = await frameworks['node:http'](async (request, context?: NodeContext) => {
      const path = new URL(request.url).pathname;
      if (path === '/hello') return createEventStream(request, [{ data: 'hello' }]);
      const state = run;
      const awaiting = path === '/awaiting';
      return createEventStream(
        request,
        async (stream) => {
          state.stream = stream;
          while (!stream.signal.aborted) {
            const sent = stream.send(EVENT);
            state.sent++;
            state.largest = Math.max(state.largest, stream.bufferedBytes);
            const unsent = context?.res.writableLength ?? 0;
            state.largestHeld = Math.max(state.largestHeld, stream.bufferedBytes + unsent);
            if (awaiting) await sent;
            // Fire and forget: still yield to I/O now and then, as real producers do.
            else if (state.sent % 8 === 0) await new Promise((resolve) => setImmediate(resolve));
          }
        },
        {
          highWaterMark: HIGH_WATER_MARK,
          maxBufferedBytes: MAX_BUFFERED,
          writeTimeoutMs: 300,
          heartbeatMs: 50,
          onError: (error) => state.error.resolve(error as StreamError),
        },
      );
    });
  });
  afterAll(async () => {
    rejections.stop();
    await server.close();
    expect(rejections.reasons).toEqual([]);
  });

  async function freeze(path: string) {
    run = fresh();
    const socket = await rawRequest(server.port, `GET ${path} HTTP/1.1\r\nhost: x\r\n\r\n`);
    socket.pause(); // never read: the receive buffer fills, then the server's send buffer
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => {}); // ECONNRESET when the server drops us is the expected outcome
    const error = await run.error.promise;
    socket.resume(); // a paused socket cannot see the server's close: read what is left
    await closed;
    return error;
  }

  test('an awaiting producer waits at the high-water mark; the client is dropped after writeTimeoutMs', async () => {
    const error = await freeze('/awaiting');
    expect(error.code).toBe('slow-consumer');
    expect(error.message).toMatch(/read nothing for writeTimeoutMs \(300 ms\)/);
    expect(run.stream?.signal.reason).toBe(error);
    expect(run.largest).toBeLessThanOrEqual(HIGH_WATER_MARK + EVENT_BYTES);
    expect(run.largestHeld).toBeLessThanOrEqual(MAX_BUFFERED + EVENT_BYTES);
    expect(run.stream?.bufferedBytes).toBe(0); // released
  });

  test('a producer that does not await is cut at maxBufferedBytes', async () => {
    const error = await freeze('/fire-and-forget');
    expect(error.code).toBe('slow-consumer');
    expect(error.message).toMatch(/more than maxBufferedBytes \(262144\)/);
    expect(run.largest).toBeLessThanOrEqual(MAX_BUFFERED + EVENT_BYTES);
    // The cap counts what the socket holds unsent too: the process holds no more than it.
    expect(run.largestHeld).toBeLessThanOrEqual(MAX_BUFFERED + EVENT_BYTES);
    expect(run.stream?.bufferedBytes).toBe(0);
  });

  test('other clients are unaffected', async () => {
    const response = await fetch(`${server.url}/hello`);
    expect((await collectEvents(response)).map((event) => event.data)).toEqual(['hello', '{}']);
  });
});
