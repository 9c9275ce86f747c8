import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { heartbeatsScheduled } from '../../src/server/_heartbeats.ts';
import { createEventStream, type EventStreamWriter } from '../../src/server/index.ts';
import { frameworks, type RunningServer } from '../helpers/server-frameworks.ts';
import {
  collectEvents,
  deferred,
  rawRequest,
  readSocketUntil,
  textReader,
  trackTimers,
  watchUnhandledRejections,
} from '../helpers/server-stream.ts';

// Distinctive delays, to find the stream's own timers among everyone else's.
const HEARTBEAT_MS = 987_001;
const MAX_DURATION_MS = 876_002;
const WRITE_TIMEOUT_MS = 765_001;

describe.each(Object.entries(frameworks))('%s', (name, serve) => {
  let server: RunningServer;
  let current: { stream?: EventStreamWriter; finally: ReturnType<typeof deferred<void>> } = {
    finally: deferred(),
  };
  const onError = vi.fn();
  const rejections = watchUnhandledRejections();

  beforeAll(async () => {
    server = await serve(
      async (request) => {
        const path = new URL(request.url).pathname;
        if (path === '/crash') throw new Error('handler bug with secrets');
        if (path === '/echo' || path === '/parsed') {
          const body = (await request.json()) as { prompt: string };
          return createEventStream(request, async (stream) => {
            await stream.send({
              event: 'echo',
              data: body.prompt,
              id: stream.lastEventId || undefined,
            });
          });
        }
        if (path === '/idle') {
          return createEventStream(request, async (stream) => {
            await new Promise((resolve) => stream.signal.addEventListener('abort', resolve));
            current.finally.resolve();
          });
        }
        const state = current;
        return createEventStream(
          request,
          async function* (stream) {
            state.stream = stream;
            try {
              for (let index = 0; ; index++) {
                yield { event: 'token', data: `t${index}` };
                await new Promise((resolve) => setTimeout(resolve, 5));
              }
            } finally {
              state.finally.resolve();
            }
          },
          {
            heartbeatMs: HEARTBEAT_MS,
            maxDurationMs: MAX_DURATION_MS + 1,
            deadlineMarginMs: 1,
            writeTimeoutMs: WRITE_TIMEOUT_MS,
          },
        );
      },
      { onError },
    );
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });
  afterAll(async () => {
    rejections.stop();
    await server.close();
    expect(rejections.reasons).toEqual([]);
  });

  test('streams a POST with its body; protocol headers; no content-length', async () => {
    const response = await fetch(`${server.url}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'last-event-id': '12' },
      body: JSON.stringify({ prompt: 'héllo' }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-cache, no-transform');
    expect(response.headers.get('x-accel-buffering')).toBe('no');
    expect(response.headers.get('content-length')).toBeNull();
    if (name !== 'node:http') expect(response.headers.get('x-framework')).toBe(name);
    expect(await collectEvents(response)).toEqual([
      { type: 'echo', data: 'héllo', id: '12' },
      { type: 'done', data: '{}', id: '12' },
    ]);
  });

  test('connection: keep-alive on HTTP/1.1, headers flushed before the first event', async () => {
    const socket = await rawRequest(server.port, 'GET /idle HTTP/1.1\r\nhost: x\r\n\r\n');
    const head = await readSocketUntil(socket, '\r\n\r\n'); // arrives while no event was sent
    expect(head).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(head.toLowerCase()).toContain('connection: keep-alive');
    expect(head.toLowerCase()).toContain('transfer-encoding: chunked'); // HTTP/1.1 framing, by Node
    expect(head.toLowerCase()).not.toContain('content-length');
    socket.destroy();
    await current.finally.promise;
    current = { finally: deferred() };
  });

  test('the client leaving mid-stream: signal aborts, generator finally runs, timers stop', async () => {
    // The stream's own timers; its heartbeat is on the Node adapter's shared clock.
    const timers = trackTimers([MAX_DURATION_MS, WRITE_TIMEOUT_MS]);
    const state = current;
    const client = new AbortController();
    const response = await fetch(`${server.url}/tokens`, { method: 'POST', signal: client.signal });
    const reader = textReader(response.body);
    await reader.until('data: t2\n\n');
    expect(timers.live()).toBeGreaterThanOrEqual(1);
    expect(heartbeatsScheduled()).toBe(1);
    client.abort();
    await state.finally.promise;
    expect(state.stream?.signal.aborted).toBe(true);
    expect((state.stream!.signal.reason as Error).name).toBe('AbortError');
    expect(timers.live()).toBe(0);
    expect(heartbeatsScheduled()).toBe(0);
    timers.restore();
    expect(onError).not.toHaveBeenCalled();
    current = { finally: deferred() };
  });

  test('a handler that throws gets a 500 JSON error and the server lives on', async () => {
    const response = await fetch(`${server.url}/crash`);
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({
      error: { code: 'internal-error', message: 'Internal server error' },
    });
    expect(onError).toHaveBeenCalledWith(new Error('handler bug with secrets'));
    onError.mockClear();
    const again = await fetch(`${server.url}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"prompt":"still here"}',
    });
    expect((await collectEvents(again))[0]?.data).toBe('still here');
  });

  test('HEAD gets the headers and no body', async () => {
    const response = await fetch(`${server.url}/tokens`, { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(await response.text()).toBe('');
  });
});

describe('express with express.json() on the route', () => {
  test('the parsed body is passed on as JSON', async () => {
    const server = await frameworks.express((request) =>
      request
        .json()
        .then((body) =>
          createEventStream(request, [{ data: (body as { prompt: string }).prompt }]),
        ),
    );
    try {
      const response = await fetch(`${server.url}/parsed`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"prompt":"parsed"}',
      });
      expect((await collectEvents(response))[0]?.data).toBe('parsed');
    } finally {
      await server.close();
    }
  });
});
