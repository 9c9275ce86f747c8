import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { RequestError } from '../../src/errors.ts';
import {
  corsPreflight,
  eventStreamHandler,
  jsonErrorResponse,
  readJsonBody,
} from '../../src/server/index.ts';
import type { TestServer } from '../helpers/http-server.ts';
import {
  collectEvents,
  rawRequest,
  readSocketUntil,
  serveWeb,
  watchUnhandledRejections,
} from '../helpers/server-stream.ts';

const json = (body: string, headers: HeadersInit = {}) =>
  new Request('http://h/api/chat', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });

describe('readJsonBody', () => {
  test('parses JSON, also +json and with parameters', async () => {
    expect(await readJsonBody(json('{"a":1}'))).toEqual({ a: 1 });
    const vendor = json('[1]', { 'content-type': 'application/vnd.api+json; charset=utf-8' });
    expect(await readJsonBody(vendor)).toEqual([1]);
  });

  test.each([
    ['text/plain', '{}', 415, 'unsupported-media-type'],
    ['application/json', '', 400, 'bad-request'],
    ['application/json', '{"a":', 400, 'bad-request'],
  ])('content-type %s, body %j -> %i', async (type, body, status, code) => {
    const error = await readJsonBody(json(body, { 'content-type': type })).catch((e) => e);
    expect(RequestError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ status, code });
  });

  test('invalid UTF-8 is a 400', async () => {
    const request = new Request('http://h/x', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: new Uint8Array([0x22, 0xff, 0x22]),
    });
    await expect(readJsonBody(request)).rejects.toMatchObject({ status: 400, message: /UTF-8/ });
  });

  test('a declared content-length over the limit is refused unread', async () => {
    const pulled = vi.fn();
    const body = new ReadableStream({ pull: pulled });
    const request = new Request('http://h/x', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': '2000' },
      body,
      duplex: 'half',
    } as RequestInit);
    await expect(readJsonBody(request, { maxBytes: 1000 })).rejects.toMatchObject({
      status: 413,
      message:
        'The body of POST /x is larger than the limit of 1000 bytes (content-length is 2000).',
    });
  });

  test('an endless body is read only up to the limit, then cancelled', async () => {
    let produced = 0;
    const cancelled = vi.fn();
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        produced += 100;
        controller.enqueue(new Uint8Array(100).fill(0x20));
      },
      cancel: cancelled,
    });
    const request = new Request('http://h/x', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      duplex: 'half',
    } as RequestInit);
    await expect(readJsonBody(request, { maxBytes: 1000 })).rejects.toMatchObject({ status: 413 });
    expect(cancelled).toHaveBeenCalled();
    expect(produced).toBeLessThanOrEqual(1200);
  });

  test('programmer errors are TypeErrors', async () => {
    await expect(readJsonBody(json('{}'), { maxBytes: 0 })).rejects.toThrow(TypeError);
    const used = json('{}');
    await used.text();
    await expect(readJsonBody(used)).rejects.toThrow(/read already/);
  });
});

describe('jsonErrorResponse', () => {
  test('a RequestError keeps its status, code and message', async () => {
    const response = jsonErrorResponse(new RequestError('payload-too-large', 'Too big.'), {
      headers: { 'x-a': '1' },
    });
    expect(response.status).toBe(413);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(response.headers.get('x-a')).toBe('1');
    expect(await response.json()).toEqual({
      error: { code: 'payload-too-large', message: 'Too big.' },
    });
  });

  test('anything else is a 500 that reveals nothing', async () => {
    const response = jsonErrorResponse(new Error('SELECT * FROM users failed'));
    expect(response.status).toBe(500);
    expect(await response.text()).toBe(
      '{"error":{"code":"internal-error","message":"Internal server error"}}',
    );
  });
});

describe('eventStreamHandler on a real server', () => {
  let server: TestServer;
  const onError = vi.fn();
  const rejections = watchUnhandledRejections();
  const cors = { origin: 'https://app.example', credentials: true };
  beforeAll(async () => {
    const handler = eventStreamHandler(
      {
        methods: ['POST'],
        maxBodyBytes: 1024,
        cors,
        onError,
        parseBody: (body) => {
          const prompt = (body as { prompt?: unknown } | null)?.prompt;
          if (prompt === 'crash') throw new Error('validator bug');
          if (typeof prompt !== 'string')
            throw new RequestError('bad-request', 'prompt must be a string.');
          return { prompt };
        },
      },
      async (stream, { prompt }) => {
        await stream.send({ event: 'echo', data: prompt });
      },
    );
    server = await serveWeb(handler);
  });
  afterAll(async () => {
    rejections.stop();
    await server.close();
    expect(rejections.reasons).toEqual([]);
  });

  const send = (init: RequestInit, path = '/api/chat') => fetch(`${server.url}${path}`, init);
  const body = (text: string, type = 'application/json') => ({
    method: 'POST',
    headers: { 'content-type': type, origin: 'https://app.example' },
    body: text,
  });

  test('streams a valid request, with CORS headers', async () => {
    const response = await send(body('{"prompt":"hi"}'));
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(response.headers.get('access-control-allow-credentials')).toBe('true');
    expect(await collectEvents(response)).toEqual([
      { type: 'echo', data: 'hi', id: '' },
      { type: 'done', data: '{}', id: '' },
    ]);
  });

  test.each([
    ['GET', { method: 'GET' }, 405, 'method-not-allowed'],
    [
      'a form',
      body('prompt=hi', 'application/x-www-form-urlencoded'),
      415,
      'unsupported-media-type',
    ],
    ['invalid JSON', body('{"prompt":'), 400, 'bad-request'],
    ['an empty body', body(''), 400, 'bad-request'],
    ['a failed validation', body('{"prompt":1}'), 400, 'bad-request'],
    ['a large body', body(JSON.stringify({ prompt: 'x'.repeat(2000) })), 413, 'payload-too-large'],
  ])('%s gets a JSON error, not a stream', async (_name, init, status, code) => {
    const response = await send(init as RequestInit);
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const payload = (await response.json()) as { error: { code: string; message: string } };
    expect(payload.error.code).toBe(code);
    expect(payload.error.message.length).toBeGreaterThan(0);
    if (status === 405) expect(response.headers.get('allow')).toBe('POST');
  });

  test('an endless chunked upload gets its 413 and the connection closes; the rest is not read', async () => {
    const socket = await rawRequest(
      server.port,
      'POST /api/chat HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n',
    );
    const chunk = `10000\r\n${' '.repeat(0x10000)}\r\n`;
    let written = 0;
    let closed = false;
    socket.once('close', () => {
      closed = true;
    });
    socket.on('error', () => {}); // EPIPE/ECONNRESET: the server closed while we were writing
    const response = readSocketUntil(socket, '}}');
    // Keep uploading until the server hangs up (bounded, in case it never does).
    while (!closed && written < 64 * 1024 * 1024) {
      written += chunk.length;
      if (!socket.write(chunk)) {
        await new Promise((resolve) => {
          socket.once('drain', resolve);
          socket.once('close', resolve);
        });
      }
    }
    const text = await response;
    expect(text).toMatch(/^HTTP\/1\.1 413 Payload Too Large\r\n/);
    expect(text.toLowerCase()).toContain('connection: close');
    expect(text).toContain('"code":"payload-too-large"');
    await new Promise<void>((resolve) =>
      closed ? resolve() : socket.once('close', () => resolve()),
    );
    expect(written).toBeLessThan(64 * 1024 * 1024);
  });

  test('a validator that crashes answers 400 generically and reports the error', async () => {
    const response = await send(body('{"prompt":"crash"}'));
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: { code: 'bad-request', message: 'The request body is invalid.' },
    });
    expect(onError).toHaveBeenCalledWith(new Error('validator bug'));
  });

  test('the CORS preflight', async () => {
    const response = await send({
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type, last-event-id',
      },
    });
    expect(response.status).toBe(204);
    expect(Object.fromEntries(response.headers)).toMatchObject({
      'access-control-allow-origin': 'https://app.example',
      'access-control-allow-credentials': 'true',
      'access-control-allow-methods': 'GET, POST',
      'access-control-allow-headers':
        'content-type, authorization, last-event-id, ssekit-cancel, idempotency-key',
      'access-control-max-age': '600',
      vary: 'origin',
    });
  });

  test('a foreign origin gets no CORS headers', () => {
    const response = corsPreflight(
      new Request('http://h/', { method: 'OPTIONS', headers: { origin: 'https://evil.example' } }),
      cors,
    );
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    expect(response.headers.get('vary')).toBe('origin');
  });
});
