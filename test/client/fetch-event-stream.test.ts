import type { IncomingMessage } from 'node:http';
import { describe, expect, test } from 'vitest';
import { fetchEventStream, type ServerSentEvent } from '../../src/client/index.ts';
import { ResponseError, ServerError, SsekitError, StreamError } from '../../src/index.ts';
import {
  type NodeHandler,
  readBody,
  serverPerTest,
  writeEventStreamHead,
} from '../helpers/http-server.ts';

const fast = { initialDelayMs: 5, maxDelayMs: 10 };
const servers = serverPerTest();
const { serve } = servers;

async function collect(iterable: AsyncIterable<ServerSentEvent>): Promise<ServerSentEvent[]> {
  const events: ServerSentEvent[] = [];
  for await (const event of iterable) events.push(event);
  return events;
}

/** Streams numbered events from Last-Event-ID + 1 up to `total`, then `event: done`. */
function numbered(
  total: number,
  cutAfter?: (req: IncomingMessage, next: number) => boolean,
): NodeHandler {
  return (req, res) => {
    writeEventStreamHead(res);
    const start = Number(req.headers['last-event-id'] ?? 0) + 1;
    for (let id = start; id <= total; id++) {
      if (cutAfter?.(req, id)) {
        // Cut in the middle of an event, once everything before it has reached the socket.
        res.write(`id: ${id}\ndata: partial`, () => res.destroy());
        return;
      }
      res.write(`id: ${id}\ndata: event ${id}\n\n`);
    }
    res.end('event: done\ndata:\n\n');
  };
}

describe('fetchEventStream', () => {
  test('POSTs a JSON body intact and yields named events, multi-line data and ids', async () => {
    let received:
      | { body: string; type: string | undefined; method: string | undefined }
      | undefined;
    const { url } = await serve(async (req, res) => {
      received = {
        body: await readBody(req),
        type: req.headers['content-type'],
        method: req.method,
      };
      writeEventStreamHead(res);
      res.write('event: token\nid: a1\ndata: {"text":"Hé"}\n\n');
      res.write('data: line one\r\ndata: line two\r\n\r\n');
      res.end('event: done\ndata:\n\n');
    });
    const payload = { messages: [{ role: 'user', content: 'Hello 😀 '.repeat(2000) }] };
    const events = await collect(fetchEventStream(url, { json: payload }));
    expect(received).toEqual({
      body: JSON.stringify(payload),
      type: 'application/json',
      method: 'POST',
    });
    expect(events).toEqual([
      { type: 'token', data: '{"text":"Hé"}', id: 'a1' },
      { type: 'message', data: 'line one\nline two', id: 'a1' },
    ]);
  });

  test('resumes with Last-Event-ID after a drop mid-event: nothing lost, nothing duplicated', async () => {
    const seen: Array<string | undefined> = [];
    const { url } = await serve(
      numbered(20, (req, id) => {
        if (id === 8 && !req.headers['last-event-id']) return true;
        return id === 15 && req.headers['last-event-id'] === '7';
      }),
    );
    const stream = fetchEventStream(url, {
      method: 'POST',
      body: 'same body',
      retry: fast,
      onOpen: () => seen.push(stream.lastEventId),
    });
    const events = await collect(stream);
    expect(events.map((event) => event.id)).toEqual(
      Array.from({ length: 20 }, (_, index) => String(index + 1)),
    );
    expect(events.every((event) => event.data === `event ${event.id}`)).toBe(true);
    expect(seen).toEqual(['', '7', '14']);
    expect(stream.lastEventId).toBe('20');
    expect(stream.readyState).toBe('closed');
  });

  test('a server that ends with retry: is resumed: same method and body, or `resume` when given', async () => {
    const requests: string[] = [];
    const { url } = await serve(async (req, res) => {
      requests.push(
        `${req.method} ${req.url} ${await readBody(req)} ${req.headers['last-event-id'] ?? '-'}`,
      );
      writeEventStreamHead(res);
      if (requests.length === 1) {
        res.end('id: r1.1\ndata: one\n\nretry: 5\n\n');
        return;
      }
      res.end('id: r1.2\ndata: two\n\nevent: done\ndata:\n\n');
    });
    const events = await collect(
      fetchEventStream(url, {
        json: { q: 1 },
        retry: fast,
        resume: ({ lastEventId }) =>
          ({ url: `${url}/resume`, init: { method: 'GET' }, lastEventId }) as never,
      }),
    );
    expect(events.map((event) => event.data)).toEqual(['one', 'two']);
    expect(requests).toEqual(['POST / {"q":1} -', 'GET /resume  r1.1']);
  });

  test("honours the server's retry: field as the base delay", async () => {
    let count = 0;
    const delays: number[] = [];
    const { url } = await serve((_req, res) => {
      count++;
      writeEventStreamHead(res);
      if (count < 4) res.end('retry: 20\n\n');
      else res.end('event: done\ndata:\n\n');
    });
    const stream = fetchEventStream(url, {
      retry: { initialDelayMs: 10_000, maxDelayMs: 60_000 },
      onRetry: ({ delayMs }) => delays.push(delayMs),
    });
    await stream.finished;
    expect(delays).toHaveLength(3);
    // Full jitter over 20, 40, 80 ms windows: never the 10 s default.
    for (const [index, delay] of delays.entries())
      expect(delay).toBeLessThanOrEqual(20 * 2 ** index);
  });

  test('retries a 500 and then streams', async () => {
    let count = 0;
    const retries: unknown[] = [];
    const { url } = await serve((_req, res) => {
      if (++count === 1) {
        res.writeHead(500, { 'content-type': 'text/plain' }).end('boom');
        return;
      }
      writeEventStreamHead(res);
      res.end('data: ok\n\nevent: done\ndata:\n\n');
    });
    const events = await collect(
      fetchEventStream(url, { retry: fast, onRetry: ({ error }) => retries.push(error) }),
    );
    expect(events.map((event) => event.data)).toEqual(['ok']);
    expect(retries).toHaveLength(1);
    expect(ResponseError.isInstance(retries[0]) && retries[0].status).toBe(500);
  });

  test('waits what Retry-After says on 429, not the backoff', async () => {
    let count = 0;
    const delays: number[] = [];
    const { url } = await serve((_req, res) => {
      if (++count === 1) {
        res.writeHead(429, { 'retry-after': '0' }).end();
        return;
      }
      writeEventStreamHead(res);
      res.end('event: done\ndata:\n\n');
    });
    await fetchEventStream(url, {
      retry: { initialDelayMs: 60_000, maxDelayMs: 60_000 },
      onRetry: ({ delayMs }) => delays.push(delayMs),
    }).finished;
    expect(delays).toEqual([0]);
  });

  test('fails at once on 401 with status, headers and the body readable', async () => {
    const { url } = await serve((_req, res) => {
      res.writeHead(401, 'Unauthorized', {
        'content-type': 'application/json',
        'www-authenticate': 'Bearer',
      });
      res.end('{"error":"token expired"}');
    });
    const error = await collect(
      fetchEventStream(`${url}/api/chat`, { json: {}, retry: fast }),
    ).catch((e) => e);
    expect(ResponseError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({
      code: 'http-error',
      status: 401,
      statusText: 'Unauthorized',
      body: '{"error":"token expired"}',
      method: 'POST',
      message: `Request failed with status 401 Unauthorized: POST ${url}/api/chat`,
    });
    expect(error.headers.get('www-authenticate')).toBe('Bearer');
    expect(servers.current?.requests).toBe(1);
  });

  test('stops on 204 without reconnecting', async () => {
    const closes: unknown[] = [];
    const { url } = await serve((_req, res) => res.writeHead(204).end());
    const events = await collect(
      fetchEventStream(url, { retry: fast, onClose: (info) => closes.push(info) }),
    );
    expect(events).toEqual([]);
    expect(closes).toEqual([{ reason: 'no-content' }]);
    expect(servers.current?.requests).toBe(1);
  });

  test('does not retry a wrong content type', async () => {
    const { url } = await serve((_req, res) =>
      res.writeHead(200, { 'content-type': 'text/html' }).end('<h1>login</h1>'),
    );
    const error = await fetchEventStream(url, { retry: fast }).finished.catch((e) => e);
    expect(error).toMatchObject({
      code: 'invalid-content-type',
      status: 200,
      body: '<h1>login</h1>',
    });
    expect(error.message).toContain(
      'Expected content-type text/event-stream but received "text/html"',
    );
    expect(servers.current?.requests).toBe(1);
  });

  test('an idle stream is aborted and resumed', async () => {
    const { url } = await serve((req, res) => {
      writeEventStreamHead(res);
      if (!req.headers['last-event-id']) {
        res.write('id: 1\ndata: first\n\n: heartbeat\n\n'); // then silence (comments do not count)
        return;
      }
      res.end('id: 2\ndata: second\n\nevent: done\ndata:\n\n');
    });
    const retries: unknown[] = [];
    const events = await collect(
      fetchEventStream(url, {
        idleTimeoutMs: 50,
        retry: fast,
        onRetry: ({ error }) => retries.push(error),
      }),
    );
    expect(events.map((event) => event.data)).toEqual(['first', 'second']);
    expect(StreamError.isInstance(retries[0]) && retries[0].code).toBe('idle-timeout');
    await servers.current?.waitForAborts(1);
  });

  test('break closes the connection at once (the server sees the close)', async () => {
    const { url } = await serve((_req, res) => {
      writeEventStreamHead(res);
      res.write('data: one\n\ndata: two\n\n'); // and never ends
    });
    for await (const event of fetchEventStream(url)) {
      expect(event.data).toBe('one');
      break;
    }
    await servers.current?.waitForAborts(1);
    expect(servers.current?.aborts).toBe(1);
  });

  test('close() ends iteration quietly; aborting the signal rejects with its reason', async () => {
    const { url } = await serve((_req, res) => {
      writeEventStreamHead(res);
      res.write('data: one\n\n');
    });
    const closed = fetchEventStream(url);
    const quiet = collect(closed);
    await servers.current?.waitForRequests(1);
    closed.close();
    await expect(quiet).resolves.toEqual(expect.any(Array));

    const controller = new AbortController();
    const reason = new Error('user cancelled');
    const stream = fetchEventStream(url, {
      signal: controller.signal,
      onEvent: () => controller.abort(reason),
    });
    await expect(stream.finished).rejects.toBe(reason);
    await servers.current?.waitForAborts(2);
  });

  test('an already-aborted signal sends no request', async () => {
    const { url } = await serve((_req, res) => res.end());
    const controller = new AbortController();
    controller.abort(new Error('too late'));
    await expect(collect(fetchEventStream(url, { signal: controller.signal }))).rejects.toThrow(
      'too late',
    );
    expect(servers.current?.requests).toBe(0);
  });

  test('gives up after maxAttempts with a retry-limit error whose cause is the last failure', async () => {
    const { url } = await serve((_req, res) => res.writeHead(503).end('down'));
    const error = await fetchEventStream(url, {
      retry: { ...fast, maxAttempts: 3 },
    }).finished.catch((e) => e);
    expect(StreamError.isInstance(error)).toBe(true);
    expect(error.code).toBe('retry-limit');
    expect(error.message).toContain('Gave up after 3 failed attempts');
    expect(ResponseError.isInstance(error.cause) && error.cause.status).toBe(503);
    expect(servers.current?.requests).toBe(3);
  });

  test('a network error is retried (server restarted on the same port)', async () => {
    const srv = await serve(numbered(3));
    await srv.close();
    const stream = fetchEventStream(srv.url, { retry: { initialDelayMs: 50, maxDelayMs: 50 } });
    const events = collect(stream);
    await srv.restart();
    expect((await events).map((event) => event.id)).toEqual(['1', '2', '3']);
  });

  test('event: error rejects with a ServerError carrying the payload', async () => {
    const { url } = await serve((_req, res) => {
      writeEventStreamHead(res);
      res.end(
        'data: partial\n\nid: 9\nevent: error\ndata: {"message":"Model overloaded","code":"overloaded"}\n\n',
      );
    });
    const events: ServerSentEvent[] = [];
    const error = await (async () => {
      for await (const event of fetchEventStream(url, { retry: fast })) events.push(event);
    })().catch((e) => e);
    expect(events.map((event) => event.data)).toEqual(['partial']);
    expect(ServerError.isInstance(error) && SsekitError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({
      message: 'Model overloaded',
      id: '9',
      data: { message: 'Model overloaded', code: 'overloaded' },
    });
    expect(servers.current?.requests).toBe(1);
  });

  test('data: [DONE] ends an OpenAI-style stream; isTerminal can change the rule', async () => {
    const { url } = await serve((_req, res) => {
      writeEventStreamHead(res);
      res.end('data: {"n":1}\n\ndata: [DONE]\n\nevent: end\ndata: x\n\n');
    });
    const closes: unknown[] = [];
    expect(
      (await collect(fetchEventStream(url, { onClose: (info) => closes.push(info) }))).map(
        (e) => e.data,
      ),
    ).toEqual(['{"n":1}']);
    expect(closes).toEqual([
      { reason: 'done', event: { type: 'message', data: '[DONE]', id: '' } },
    ]);
    const custom = await collect(
      fetchEventStream(url, { retry: false, isTerminal: (event) => event.type === 'end' }),
    );
    expect(custom.map((e) => e.data)).toEqual(['{"n":1}', '[DONE]']);
  });

  test('starts from a known lastEventId', async () => {
    const { url } = await serve(numbered(5));
    const events = await collect(fetchEventStream(url, { lastEventId: '3' }));
    expect(events.map((event) => event.id)).toEqual(['4', '5']);
  });

  test('rejects a one-shot stream body with retry enabled, up front', () => {
    const body = new ReadableStream();
    expect(() =>
      fetchEventStream('http://127.0.0.1:1', { method: 'POST', body, duplex: 'half' } as never),
    ).toThrow(/ReadableStream body can be sent only once/);
    expect(() => fetchEventStream('http://127.0.0.1:1', { json: {}, body: 'x' })).toThrow(
      TypeError,
    );
  });

  test('a slow for-await loop pauses reading (bounded buffer)', async () => {
    const total = 2000;
    const { url } = await serve((_req, res) => {
      writeEventStreamHead(res);
      let id = 0;
      const pump = () => {
        while (id < total) {
          id++;
          if (!res.write(`id: ${id}\ndata: ${'x'.repeat(1000)}\n\n`)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end('event: done\ndata:\n\n');
      };
      pump();
    });
    let maxLag = 0;
    let received = 0;
    let delivered = 0;
    for await (const event of fetchEventStream(url, {
      highWaterMark: 8,
      onEvent: () => delivered++,
    })) {
      received++;
      maxLag = Math.max(maxLag, delivered - received);
      expect(event.id).toBe(String(received));
      if (received % 100 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    expect(received).toBe(total);
    expect(maxLag).toBeLessThanOrEqual(8);
  });

  test('an event larger than maxEventSize fails with a ParseError, not retried', async () => {
    const { url } = await serve((_req, res) => {
      writeEventStreamHead(res);
      res.end(`data: ${'x'.repeat(5000)}\n\n`);
    });
    const error = await fetchEventStream(url, { maxEventSize: 1000, retry: fast }).finished.catch(
      (e) => e,
    );
    expect(error.code).toBe('event-too-large');
    expect(servers.current?.requests).toBe(1);
  });
});
