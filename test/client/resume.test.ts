/**
 * Resume, never re-run, against plain servers of the kind users already have (node:http writing
 * events and calling res.end(), as Express, Koa, Flask or FastAPI handlers do), over real sockets:
 * a clean end is completion; a cut resumes only with an id (or a GET); a POST cut without ids is a
 * typed error after one request; `retry:` at the end of a response asks to be resumed; every
 * reconnection counts; transport failures are classified by where they are thrown, whatever their
 * message says.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, test } from 'vitest';
import { fetchEventStream, type ServerSentEvent } from '../../src/client/index.ts';
import { ResponseError, StreamError } from '../../src/index.ts';
import { readBody, serverPerTest, writeEventStreamHead } from '../helpers/http-server.ts';

const servers = serverPerTest();
const { serve } = servers;
const fast = { initialDelayMs: 5, maxDelayMs: 10 };

async function collect(iterable: AsyncIterable<ServerSentEvent>): Promise<ServerSentEvent[]> {
  const events: ServerSentEvent[] = [];
  for await (const event of iterable) events.push(event);
  return events;
}

/** What an Express/Flask handler does: write the events, then end the response. */
function plain(options: { ids: boolean; retry: boolean }) {
  return async (req: IncomingMessage, res: ServerResponse) => {
    await readBody(req);
    writeEventStreamHead(res);
    if (options.retry) res.write('retry: 3000\n\n'); // the usual place: first
    for (let index = 1; index <= 3; index++) {
      const id = options.ids ? `id: ${index}\n` : '';
      await new Promise((resolve) => res.write(`${id}data: chunk ${index}\n\n`, resolve));
    }
    res.end();
  };
}

describe('a plain server that writes its events and ends the response', () => {
  test.each([
    { ids: false, retry: false },
    { ids: true, retry: false },
    { ids: false, retry: true },
    { ids: true, retry: true },
  ])('ids: $ids, retry: $retry: POST and GET make exactly one request each', async (options) => {
    const server = await serve(plain(options));
    for (const init of [{ json: { q: 1 } }, { method: 'GET' }]) {
      const closes: unknown[] = [];
      const events = await collect(
        fetchEventStream(server.url, { ...init, retry: fast, onClose: (i) => closes.push(i) }),
      );
      expect(events).toEqual(
        [1, 2, 3].map((index) => ({
          type: 'message',
          data: `chunk ${index}`,
          id: options.ids ? String(index) : '',
        })),
      );
      expect(closes).toEqual([{ reason: 'done' }]);
    }
    expect(server.requests).toBe(2);
  });

  test("idleTimeoutMs: 'auto' does not cut a slow but steady stream", async () => {
    const server = await serve(async (_req, res) => {
      writeEventStreamHead(res);
      for (let index = 1; index <= 4; index++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        res.write(`data: ${index}\n\n`);
      }
      res.end();
    });
    const events = await collect(
      fetchEventStream(server.url, { json: {}, idleTimeoutMs: 'auto', retry: fast }),
    );
    expect(events.map((event) => event.data)).toEqual(['1', '2', '3', '4']);
    expect(server.requests).toBe(1);
    expect(() => fetchEventStream(server.url, { idleTimeoutMs: -1 })).toThrow(
      /idleTimeoutMs must be a number of milliseconds or 'auto'/,
    );
  });

  test('an empty response is a complete, empty stream', async () => {
    const server = await serve((_req, res) => {
      writeEventStreamHead(res);
      res.end();
    });
    expect(await collect(fetchEventStream(server.url, { json: {}, retry: fast }))).toEqual([]);
    expect(server.requests).toBe(1);
  });
});

describe('cuts', () => {
  /** Writes events, then destroys the socket in the middle of the next one. */
  function cutting(
    options: { ids: boolean },
    record?: (req: IncomingMessage, body: string) => void,
  ) {
    return async (req: IncomingMessage, res: ServerResponse) => {
      record?.(req, await readBody(req));
      const last = Number(req.headers['last-event-id'] ?? 0);
      writeEventStreamHead(res);
      for (let index = last + 1; index <= 4; index++) {
        const id = options.ids ? `id: ${index}\n` : '';
        if (index === 3 && last === 0) {
          res.write(`${id}data: chu`, () => res.destroy());
          return;
        }
        await new Promise((resolve) => res.write(`${id}data: chunk ${index}\n\n`, resolve));
      }
      res.end();
    };
  }

  test('a POST cut without ids: a typed stream-cut error after exactly one request', async () => {
    const server = await serve(cutting({ ids: false }));
    const events: ServerSentEvent[] = [];
    const error = await (async () => {
      for await (const event of fetchEventStream(server.url, { json: { q: 1 }, retry: fast }))
        events.push(event);
    })().catch((e: unknown) => e);
    expect(events.map((event) => event.data)).toEqual(['chunk 1', 'chunk 2']);
    expect(StreamError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: 'stream-cut' });
    expect((error as Error).message).toContain('cannot be resumed');
    expect((error as Error).message).toContain(`POST ${server.url}`);
    expect(server.requests).toBe(1);
  });

  test('a POST cut with ids: resumed once with the right Last-Event-ID, no event twice', async () => {
    const seen: string[] = [];
    const server = await serve(
      cutting({ ids: true }, (req, body) => seen.push(`${req.headers['last-event-id']} ${body}`)),
    );
    const events = await collect(fetchEventStream(server.url, { json: { q: 1 }, retry: fast }));
    expect(events).toEqual(
      [1, 2, 3, 4].map((index) => ({ type: 'message', data: `chunk ${index}`, id: String(index) })),
    );
    expect(seen).toEqual(['undefined {"q":1}', '2 {"q":1}']);
    expect(server.requests).toBe(2);
  });

  test('a GET cut without ids reconnects (a GET is safe to repeat)', async () => {
    let count = 0;
    const cut = cutting({ ids: false });
    const server = await serve((req, res) => {
      if (++count === 1) return cut(req, res);
      writeEventStreamHead(res);
      res.end('data: chunk 1\n\ndata: chunk 2\n\ndata: chunk 3\n\ndata: chunk 4\n\n');
    });
    const events = await collect(fetchEventStream(server.url, { retry: fast }));
    // The plain server starts over: a GET repeats, as an EventSource would.
    expect(events.map((event) => event.data)).toEqual([
      'chunk 1',
      'chunk 2',
      'chunk 1',
      'chunk 2',
      'chunk 3',
      'chunk 4',
    ]);
    expect(server.requests).toBe(2);
  });

  test('a body that ends cleanly in the middle of an event is a cut, resumed from the last id', async () => {
    const seen: Array<string | undefined> = [];
    const server = await serve((req, res) => {
      seen.push(req.headers['last-event-id'] as string | undefined);
      writeEventStreamHead(res);
      if (seen.length === 1) res.end('id: 1\ndata: one\n\nid: 2\ndata: tw');
      else res.end('id: 2\ndata: two\n\n');
    });
    const events = await collect(fetchEventStream(server.url, { json: {}, retry: fast }));
    expect(events.map((event) => event.data)).toEqual(['one', 'two']);
    expect(seen).toEqual([undefined, '1']);
  });

  test('a body that ends inside an event without ids, on a POST: stream-cut, one request', async () => {
    const server = await serve((_req, res) => {
      writeEventStreamHead(res);
      res.end('data: one\n\ndata: tw');
    });
    const error = await fetchEventStream(server.url, { json: {}, retry: fast }).finished.catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'stream-cut' });
    expect(server.requests).toBe(1);
  });

  test('a comment after the last event is a clean end', async () => {
    const server = await serve((_req, res) => {
      writeEventStreamHead(res);
      res.end('data: one\n\n: bye\n');
    });
    expect(
      (await collect(fetchEventStream(server.url, { json: {}, retry: fast }))).map((e) => e.data),
    ).toEqual(['one']);
    expect(server.requests).toBe(1);
  });

  test('a cut before any event is retried, POST included (nothing was delivered)', async () => {
    let count = 0;
    const server = await serve((_req, res) => {
      writeEventStreamHead(res);
      if (++count === 1) res.write(': warming up\n\n', () => res.destroy());
      else res.end('data: ok\n\n');
    });
    const events = await collect(fetchEventStream(server.url, { json: {}, retry: fast }));
    expect(events.map((event) => event.data)).toEqual(['ok']);
    expect(server.requests).toBe(2);
  });
});

describe('retry: at the end of a response asks to be resumed', () => {
  test('with ids: resumed with Last-Event-ID (a deadline), onRetry says ended-early', async () => {
    const seen: Array<string | undefined> = [];
    const reasons: unknown[] = [];
    const server = await serve(async (req, res) => {
      await readBody(req);
      seen.push(req.headers['last-event-id'] as string | undefined);
      writeEventStreamHead(res);
      if (seen.length === 1) res.end('id: 1\ndata: one\n\nid: 2\ndata: two\n\nretry: 5\n\n');
      else res.end('id: 3\ndata: three\n\nevent: done\ndata:\n\n');
    });
    const events = await collect(
      fetchEventStream(server.url, {
        json: { q: 1 },
        retry: fast,
        onRetry: ({ error, delayMs }) => reasons.push([error, delayMs]),
      }),
    );
    expect(events.map((event) => `${event.id}:${event.data}`)).toEqual([
      '1:one',
      '2:two',
      '3:three',
    ]);
    expect(seen).toEqual([undefined, '2']);
    expect(reasons).toHaveLength(1);
    const [reason, delay] = reasons[0] as [StreamError, number];
    expect(reason.code).toBe('ended-early');
    expect(delay).toBe(5); // the server's own delay, as sent
  });

  test('a POST without ids is complete at the end, even after a trailing retry:', async () => {
    const server = await serve((_req, res) => {
      writeEventStreamHead(res);
      res.end('data: one\n\nretry: 5\n\n');
    });
    expect(await collect(fetchEventStream(server.url, { json: {}, retry: fast }))).toHaveLength(1);
    expect(server.requests).toBe(1);
  });

  test('a GET without ids is resumed (safe to repeat)', async () => {
    let count = 0;
    const server = await serve((_req, res) => {
      writeEventStreamHead(res);
      res.end(++count === 1 ? 'data: one\n\nretry: 5\n\n' : 'data: two\n\n');
    });
    expect(
      (await collect(fetchEventStream(server.url, { retry: fast }))).map((e) => e.data),
    ).toEqual(['one', 'two']);
    expect(server.requests).toBe(2);
  });

  test('retry: false: the end of the response is the end, whatever it asks', async () => {
    const server = await serve((_req, res) => {
      writeEventStreamHead(res);
      res.end('id: 1\ndata: one\n\nretry: 5\n\n');
    });
    expect(await collect(fetchEventStream(server.url, { retry: false }))).toHaveLength(1);
    expect(server.requests).toBe(1);
  });
});

describe('every reconnection counts', () => {
  test('a server that asks to be resumed but sends nothing new stops at maxAttempts', async () => {
    const server = await serve((_req, res) => {
      writeEventStreamHead(res);
      res.end('id: 1\ndata: same\n\nretry: 1\n\n'); // the same event, every time
    });
    const events: ServerSentEvent[] = [];
    const error = await (async () => {
      for await (const event of fetchEventStream(server.url, {
        json: {},
        retry: { ...fast, maxAttempts: 3 },
      }))
        events.push(event);
    })().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'retry-limit' });
    expect(StreamError.isInstance((error as Error).cause)).toBe(true);
    expect(server.requests).toBe(3);
    expect(events).toHaveLength(3);
  });

  test('attempts that deliver new events start the count again', async () => {
    const server = await serve((req, res) => {
      const next = Number(req.headers['last-event-id'] ?? 0) + 1;
      writeEventStreamHead(res);
      res.end(next < 6 ? `id: ${next}\ndata: ${next}\n\nretry: 1\n\n` : 'event: done\ndata:\n\n');
    });
    const events = await collect(
      fetchEventStream(server.url, { json: {}, retry: { ...fast, maxAttempts: 2 } }),
    );
    expect(events.map((event) => event.data)).toEqual(['1', '2', '3', '4', '5']);
    expect(server.requests).toBe(6);
  });

  test('Retry-After on 503 before any event is waited as sent', async () => {
    let count = 0;
    const delays: number[] = [];
    const server = await serve((_req, res) => {
      if (++count === 1) {
        res.writeHead(503, { 'retry-after': '0' }).end();
        return;
      }
      writeEventStreamHead(res);
      res.end('data: ok\n\n');
    });
    await collect(
      fetchEventStream(server.url, {
        json: {},
        retry: { initialDelayMs: 60_000, maxDelayMs: 60_000 },
        onRetry: ({ delayMs }) => delays.push(delayMs),
      }),
    );
    expect(delays).toEqual([0]);
    expect(server.requests).toBe(2);
  });
});

describe('transport failures are classified by where they are thrown, not by their message', () => {
  /** A fetch that fails the first `failures` calls with `error` (as a runtime would), then is real. */
  function failingFetch(error: unknown, failures = 1): typeof fetch {
    let calls = 0;
    return (input, init) => (++calls <= failures ? Promise.reject(error) : fetch(input, init));
  }

  /** A fetch whose first response body errors with `error` after `prefix` (a body cut). */
  function cuttingFetch(error: unknown, prefix: string): typeof fetch {
    let calls = 0;
    return async (input, init) => {
      const response = await fetch(input, init);
      if (++calls > 1) return response;
      await response.body?.cancel();
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode(prefix));
        },
        pull(controller) {
          controller.error(error);
        },
      });
      return new Response(body, { status: 200, headers: response.headers });
    };
  }

  const numbered = (req: IncomingMessage, res: ServerResponse) => {
    const last = Number(req.headers['last-event-id'] ?? 0);
    writeEventStreamHead(res);
    let body = '';
    for (let id = last + 1; id <= 3; id++) body += `id: ${id}\ndata: ${id}\n\n`;
    res.end(body);
  };

  test.each([
    [
      'Bun',
      Object.assign(new Error('Unable to connect. Is the computer able to access the url?'), {
        code: 'ConnectionRefused',
      }),
    ],
    [
      'Deno',
      new TypeError(
        'error sending request for url (http://127.0.0.1/): client error (Connect): tcp connect error: Connection refused (os error 111)',
      ),
    ],
    ['workerd', new Error('Network connection lost.')],
    ['a browser', new TypeError('Failed to fetch')],
  ])(
    'a connection %s refuses is retried (a GET, a POST, a POST with an Idempotency-Key)',
    async (_runtime, error) => {
      const server = await serve(numbered);
      for (const init of [
        {},
        { json: {} },
        { json: {}, headers: { 'idempotency-key': crypto.randomUUID() } },
      ]) {
        const events = await collect(
          fetchEventStream(server.url, { ...init, retry: fast, fetch: failingFetch(error) }),
        );
        expect(events.map((event) => event.data)).toEqual(['1', '2', '3']);
      }
      expect(server.requests).toBe(3);
    },
  );

  test.each([
    ['Deno', new TypeError('error reading a body from connection')],
    [
      'Bun',
      Object.assign(new Error('The socket connection was closed unexpectedly.'), {
        code: 'ECONNRESET',
      }),
    ],
    ['workerd', new Error('Network connection lost.')],
    ['a browser', new TypeError('network error')],
  ])('a body %s cuts after an id is resumed with Last-Event-ID', async (_runtime, error) => {
    const seen: Array<string | undefined> = [];
    const server = await serve((req, res) => {
      seen.push(req.headers['last-event-id'] as string | undefined);
      numbered(req, res);
    });
    const events = await collect(
      fetchEventStream(server.url, {
        json: {},
        retry: fast,
        fetch: cuttingFetch(error, 'id: 1\ndata: 1\n\nid: 2\ndata: 2'),
      }),
    );
    expect(events.map((event) => event.data)).toEqual(['1', '2', '3']);
    expect(seen).toEqual([undefined, '1']);
  });

  test('a body cut without ids on a POST is stream-cut with the runtime error as cause', async () => {
    const cut = new TypeError('error reading a body from connection');
    const server = await serve(numbered);
    const error = await fetchEventStream(server.url, {
      json: {},
      retry: fast,
      fetch: cuttingFetch(cut, 'data: no id\n\n'),
    }).finished.catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'stream-cut', cause: cut });
    expect(server.requests).toBe(1);
  });

  test('a request fetch refuses is a mistake: it fails at once, whatever fetch said', async () => {
    const server = await serve(numbered);
    let calls = 0;
    const refusing: typeof fetch = (input, init) => {
      calls++;
      return fetch(input, init);
    };
    const error = await fetchEventStream(server.url, {
      method: 'GE T',
      retry: fast,
      fetch: refusing,
    }).finished.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect(calls).toBe(1);
    expect(server.requests).toBe(0);
  });

  test("a consumer's callback that throws fails the stream; it is not a network error", async () => {
    const server = await serve(numbered);
    const bug = new Error('bug in onEvent');
    const error = await fetchEventStream(server.url, {
      json: {},
      retry: fast,
      onEvent: () => {
        throw bug;
      },
    }).finished.catch((e: unknown) => e);
    expect(error).toBe(bug);
    expect(server.requests).toBe(1);
  });

  test('a 401 is never retried: ResponseError after one request', async () => {
    const server = await serve((_req, res) => res.writeHead(401).end('no'));
    const error = await fetchEventStream(server.url, { json: {}, retry: fast }).finished.catch(
      (e: unknown) => e,
    );
    expect(ResponseError.isInstance(error) && error.status).toBe(401);
    expect(server.requests).toBe(1);
  });
});
