import { describe, expect, test, vi } from 'vitest';
import { RequestError, StreamError } from '../../src/errors.ts';
import {
  createEventStream,
  type EventStreamEvent,
  type EventStreamWriter,
} from '../../src/server/index.ts';
import { collectEvents, deferred, textReader } from '../helpers/server-stream.ts';

const post = (headers: HeadersInit = {}, url = 'http://localhost/api/chat') =>
  new Request(url, { method: 'POST', headers });
const quiet = { onError: () => {} };

describe('wire format', () => {
  test('events as sent, then done with a data line', async () => {
    const response = createEventStream(post(), async (stream) => {
      await stream.send({ data: 'plain' });
      await stream.send({ event: 'token', id: 7, data: 'two\nlines' });
      await stream.send({ data: { n: 1, text: 'ü' } });
      await stream.send({ retry: 2500 });
      await stream.comment('a note');
    });
    expect(await textReader(response.body).all()).toBe(
      'data: plain\n\n' +
        'event: token\nid: 7\ndata: two\ndata: lines\n\n' +
        'data: {"n":1,"text":"ü"}\n\n' +
        'retry: 2500\n\n' +
        ': a note\n\n' +
        'event: done\ndata: {}\n\n',
    );
  });

  test('the headers of the protocol, no length, no framing, no connection', () => {
    const response = createEventStream(post(), async () => {}, {
      headers: { 'x-request-id': 'r1', 'content-length': '5', 'content-type': 'text/plain' },
    });
    expect(response.status).toBe(200);
    expect(Object.fromEntries(response.headers)).toEqual({
      'cache-control': 'no-cache, no-transform',
      'content-type': 'text/event-stream; charset=utf-8',
      'x-accel-buffering': 'no',
      'x-request-id': 'r1',
    });
  });

  test("done carries the producer's return value", async () => {
    const response = createEventStream(post(), async (stream) => {
      await stream.send({ data: 'x' });
      return { usage: { tokens: 3 } };
    });
    expect(await textReader(response.body).all()).toBe(
      'data: x\n\nevent: done\ndata: {"usage":{"tokens":3}}\n\n',
    );
  });

  test('progress sends event: progress with JSON and validates fraction', async () => {
    let thrown: unknown;
    const response = createEventStream(post(), async (stream) => {
      await stream.progress({ phase: 'indexing', fraction: 0.5, files: 3 });
      try {
        await stream.progress({ phase: 'indexing', fraction: 1.5 });
      } catch (error) {
        thrown = error;
      }
    });
    expect(await textReader(response.body).all()).toBe(
      'event: progress\ndata: {"phase":"indexing","fraction":0.5,"files":3}\n\nevent: done\ndata: {}\n\n',
    );
    expect(thrown).toBeInstanceOf(TypeError);
  });

  test('send throws a TypeError at once for input the encoder refuses', async () => {
    const errors: unknown[] = [];
    const response = createEventStream(post(), async (stream) => {
      for (const bad of [{ event: 'a\nb', data: 'x' }, { data: 1n }, { data: () => 1 }, null]) {
        try {
          void stream.send(bad as EventStreamEvent);
        } catch (error) {
          errors.push(error);
        }
      }
    });
    await textReader(response.body).all();
    expect(errors).toHaveLength(4);
    for (const error of errors) expect(error).toBeInstanceOf(TypeError);
  });
});

describe('errors', () => {
  test('a throwing producer ends with a safe error event; onError gets the real error', async () => {
    const onError = vi.fn();
    const failure = new Error('connect ECONNREFUSED 10.0.0.7:5432 (password=hunter2)');
    const response = createEventStream(
      post(),
      async (stream) => {
        await stream.send({ data: 'partial' });
        throw failure;
      },
      { onError },
    );
    const text = await textReader(response.body).all();
    expect(text).toBe(
      'data: partial\n\nevent: error\ndata: {"message":"Internal server error"}\n\n',
    );
    expect(text).not.toContain('ECONNREFUSED');
    expect(text).not.toContain('at ');
    expect(onError).toHaveBeenCalledExactlyOnceWith(failure);
  });

  test('errors marked expose: true and RequestErrors show their message and code', async () => {
    const exposed = Object.assign(new Error('Quota exceeded'), { expose: true, code: 'quota' });
    const first = createEventStream(post(), () => Promise.reject(exposed), quiet);
    expect(await textReader(first.body).all()).toBe(
      'event: error\ndata: {"message":"Quota exceeded","code":"quota"}\n\n',
    );
    const second = createEventStream(
      post(),
      () => Promise.reject(new RequestError('bad-request', 'prompt is empty')),
      quiet,
    );
    expect(await textReader(second.body).all()).toBe(
      'event: error\ndata: {"message":"prompt is empty","code":"bad-request"}\n\n',
    );
  });

  test('publicError maps errors; a mapper that throws falls back to the default', async () => {
    const onError = vi.fn();
    const mapped = createEventStream(post(), () => Promise.reject(new Error('raw')), {
      onError,
      publicError: (error) => ({
        message: `Try again (${(error as Error).message.length})`,
        code: 'retry',
      }),
    });
    expect(await textReader(mapped.body).all()).toBe(
      'event: error\ndata: {"message":"Try again (3)","code":"retry"}\n\n',
    );
    const broken = createEventStream(post(), () => Promise.reject(new Error('raw')), {
      onError,
      publicError: () => {
        throw new Error('mapper bug');
      },
    });
    expect(await textReader(broken.body).all()).toBe(
      'event: error\ndata: {"message":"Internal server error"}\n\n',
    );
    expect(onError.mock.calls.map(([error]) => (error as Error).message)).toEqual([
      'raw',
      'raw',
      'mapper bug',
    ]);
  });

  test('terminalEvents: false writes neither done nor error', async () => {
    const onError = vi.fn();
    const ok = createEventStream(post(), async (stream) => stream.send({ data: 'a' }), {
      terminalEvents: false,
    });
    expect(await textReader(ok.body).all()).toBe('data: a\n\n');
    const failing = createEventStream(
      post(),
      async (stream) => {
        await stream.send({ data: 'a' });
        throw new Error('boom');
      },
      { terminalEvents: false, onError },
    );
    expect(await textReader(failing.body).all()).toBe('data: a\n\n');
    expect(onError).toHaveBeenCalledOnce();
  });

  test('onError defaults to console.error', async () => {
    const spy = vi.spyOn(console, 'error').mockImplementation(() => {});
    const response = createEventStream(post(), () => Promise.reject(new Error('logged')));
    await textReader(response.body).all();
    expect(spy).toHaveBeenCalledWith('ssekit: event stream failed:', new Error('logged'));
    spy.mockRestore();
  });
});

describe('producers', () => {
  const expected = 'data: 1\n\ndata: 2\n\nevent: done\ndata: {}\n\n';

  test.each([
    ['an array', () => [{ data: 1 }, { data: 2 }]],
    [
      'a sync generator',
      (function* () {
        yield { data: 1 };
        yield { data: 2 };
      })(),
    ],
    [
      'an async generator',
      (async function* () {
        yield { data: 1 };
        yield { data: 2 };
      })(),
    ],
    [
      'an async generator function',
      async function* () {
        yield { data: 1 };
        yield { data: 2 };
      },
    ],
    [
      'a ReadableStream of events',
      new ReadableStream<EventStreamEvent>({
        start(controller) {
          controller.enqueue({ data: 1 });
          controller.enqueue({ data: 2 });
          controller.close();
        },
      }),
    ],
  ])('%s', async (_name, producer) => {
    const response = createEventStream(post(), producer as never);
    expect(await textReader(response.body).all()).toBe(expected);
  });

  test('a generator return value is the payload of done', async () => {
    const response = createEventStream(post(), async function* () {
      yield { data: 'a' };
      return 'finished';
    });
    expect(await textReader(response.body).all()).toBe(
      'data: a\n\nevent: done\ndata: finished\n\n',
    );
  });

  test('anything else is refused at once', () => {
    for (const producer of ['text', 42, null, { data: 1 }]) {
      expect(() => createEventStream(post(), producer as never)).toThrow(TypeError);
    }
    expect(() => createEventStream({} as Request, async () => {})).toThrow(/Web Request/);
  });

  test('close() ends with done; later sends reject with signal.reason', async () => {
    const rejection = deferred<unknown>();
    const response = createEventStream(post(), async (stream) => {
      await stream.send({ data: 'a' });
      stream.close();
      stream.send({ data: 'late' }).catch(rejection.resolve);
    });
    expect(await textReader(response.body).all()).toBe('data: a\n\nevent: done\ndata: {}\n\n');
    const reason = await rejection.promise;
    expect(reason).toBeInstanceOf(DOMException);
    expect((reason as DOMException).name).toBe('AbortError');
  });

  test('the signal aborts when the stream ends normally', async () => {
    let captured: EventStreamWriter | undefined;
    const response = createEventStream(post(), async (stream) => {
      captured = stream;
      expect(stream.signal.aborted).toBe(false);
    });
    await textReader(response.body).all();
    expect(captured?.signal.aborted).toBe(true);
  });
});

describe('requests', () => {
  test('lastEventId from the Last-Event-ID header, else the lastEventId query parameter', async () => {
    const seen: string[] = [];
    const producer = async (stream: EventStreamWriter) => {
      seen.push(stream.lastEventId);
    };
    const responses = [
      createEventStream(post({ 'last-event-id': '41' }, 'http://h/s?lastEventId=9'), producer),
      createEventStream(post({}, 'http://h/s?lastEventId=9'), producer),
      createEventStream(post(), producer),
    ];
    for (const response of responses) await textReader(response.body).all();
    expect(seen).toEqual(['41', '9', '']);
  });

  test('stream.request is the request', async () => {
    const request = post();
    let seen: Request | undefined;
    await textReader(
      createEventStream(request, async (stream) => {
        seen = stream.request;
      }).body,
    ).all();
    expect(seen).toBe(request);
  });

  test('HEAD gets the headers and runs no producer', async () => {
    const producer = vi.fn();
    const response = createEventStream(new Request('http://h/s', { method: 'HEAD' }), producer);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(response.body).toBeNull();
    expect(producer).not.toHaveBeenCalled();
  });

  test('a request aborted already runs no producer', async () => {
    const controller = new AbortController();
    controller.abort();
    const producer = vi.fn();
    const response = createEventStream(
      new Request('http://h/s', { signal: controller.signal }),
      producer,
    );
    await expect(textReader(response.body).all()).resolves.toBe(''); // closed, not errored
    expect(producer).not.toHaveBeenCalled();
  });

  test('decodes with the package decoder', async () => {
    const response = createEventStream(post(), async (stream) => {
      await stream.send({ event: 'token', id: 'a', data: 'Hel' });
      await stream.send({ event: 'token', data: 'lo' });
    });
    expect(await collectEvents(response)).toEqual([
      { type: 'token', data: 'Hel', id: 'a' },
      { type: 'token', data: 'lo', id: 'a' },
      { type: 'done', data: '{}', id: 'a' },
    ]);
  });
});

describe('options are validated eagerly', () => {
  test.each([
    [{ heartbeatMs: -1 }, /heartbeatMs/],
    [{ heartbeatMs: 2 ** 31 }, /heartbeatMs/],
    [{ writeTimeoutMs: 0 }, /writeTimeoutMs/],
    [{ highWaterMark: 10, maxBufferedBytes: 5 }, /maxBufferedBytes \(5\).*highWaterMark \(10\)/],
    [
      { maxDurationMs: 1000, deadlineMarginMs: 1000 },
      /deadlineMarginMs \(1000\).*maxDurationMs \(1000\)/,
    ],
    [{ retryMs: 1.5 }, /retryMs/],
    [{ onError: 'log' }, /onError/],
    [{ cors: { origin: '*', credentials: true } }, /credentials/],
  ])('%o', (options, message) => {
    expect(() => createEventStream(post(), async () => {}, options as never)).toThrow(message);
  });

  test('StreamError is the slow-consumer class', () => {
    expect(new StreamError('slow-consumer', 'x').code).toBe('slow-consumer');
  });
});
