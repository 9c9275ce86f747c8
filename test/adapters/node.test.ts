import { afterEach, describe, expect, test, vi } from 'vitest';
import { toNodeHandler } from '../../src/adapters/node.ts';
import { createEventStream } from '../../src/server/index.ts';
import { startServer, type TestServer } from '../helpers/http-server.ts';
import { deferred, rawRequest, readSocketUntil, textReader } from '../helpers/server-stream.ts';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('Node request -> Web Request', () => {
  test('URL, method, headers; x-forwarded-* only with trustProxy', async () => {
    const seen: Request[] = [];
    const handler = (request: Request) => {
      seen.push(request);
      return new Response('ok');
    };
    server = await startServer(toNodeHandler(handler));
    const trusting = await startServer(toNodeHandler(handler, { trustProxy: true }));
    const headers = {
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'app.example',
      'x-custom': 'v',
    };
    await fetch(`${server.url}/a/b?c=1`, { headers });
    await fetch(`${trusting.url}/a/b?c=1`, { headers });
    await trusting.close();
    expect(seen[0]!.url).toBe(`${server.url}/a/b?c=1`);
    expect(seen[0]!.headers.get('x-custom')).toBe('v');
    expect(seen[1]!.url).toBe('https://app.example/a/b?c=1');
  });

  test('the body streams on demand; nothing is read before the handler asks', async () => {
    const chunks: string[] = [];
    const gotFirst = deferred();
    const sendRest = deferred();
    server = await startServer(
      toNodeHandler(async (request) => {
        const reader = request.body!.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          chunks.push(value);
          gotFirst.resolve();
        }
        return new Response(chunks.join('|'));
      }),
    );
    const encoder = new TextEncoder();
    const upload = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(encoder.encode('first'));
        await sendRest.promise;
        controller.enqueue(encoder.encode('second'));
        controller.close();
      },
    });
    const responsePromise = fetch(server.url, {
      method: 'POST',
      body: upload,
      duplex: 'half',
    } as RequestInit);
    await gotFirst.promise; // the handler saw the first chunk before the upload finished
    sendRest.resolve();
    expect(await (await responsePromise).text()).toBe('first|second');
  });

  test('the request is a real Request: copied by new Request(), cloned, its body read', async () => {
    server = await startServer(
      toNodeHandler(async (request) => {
        const clone = request.clone();
        const copy = new Request(request, { headers: { 'x-added': '1' } });
        return Response.json({
          copy: [copy.method, copy.url, copy.headers.get('x-added'), await copy.text()],
          clone: await clone.text(),
          isRequest: request instanceof Request,
        });
      }),
    );
    const response = await fetch(`${server.url}/p?q=1`, { method: 'POST', body: 'payload' });
    expect(await response.json()).toEqual({
      copy: ['POST', `${server.url}/p?q=1`, '1', 'payload'],
      clone: 'payload',
      isRequest: true,
    });
  });

  test('the request signal aborts when the client disconnects before the response', async () => {
    const aborted = deferred<unknown>();
    server = await startServer(
      toNodeHandler(
        (request) =>
          new Promise<Response>(() => {
            request.signal.addEventListener('abort', () => aborted.resolve(request.signal.reason));
          }),
      ),
    );
    const socket = await rawRequest(server.port, 'GET / HTTP/1.1\r\nhost: x\r\n\r\n');
    await server.waitForRequests(1);
    socket.destroy();
    expect((await aborted.promise) as DOMException).toMatchObject({ name: 'AbortError' });
  });
});

describe('Web Response -> Node response', () => {
  test('status, statusText, several set-cookie headers', async () => {
    server = await startServer(
      toNodeHandler(() => {
        const headers = new Headers({ 'content-type': 'text/plain' });
        headers.append('set-cookie', 'a=1');
        headers.append('set-cookie', 'b=2');
        return new Response('created', { status: 201, statusText: 'Made It', headers });
      }),
    );
    const socket = await rawRequest(
      server.port,
      'GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n',
    );
    const text = await readSocketUntil(socket, 'created');
    expect(text).toMatch(/^HTTP\/1\.1 201 Made It\r\n/);
    expect(text).toContain('set-cookie: a=1\r\nset-cookie: b=2\r\n');
  });

  test('a body that fails mid-way cuts the connection and is reported', async () => {
    const onError = vi.fn();
    const clientRead = deferred();
    let pulls = 0;
    server = await startServer(
      toNodeHandler(
        () =>
          new Response(
            new ReadableStream({
              async pull(controller) {
                if (pulls++ === 0) {
                  controller.enqueue(new TextEncoder().encode('partial'));
                  return;
                }
                await clientRead.promise;
                controller.error(new Error('disk gone'));
              },
            }),
          ),
        { onError },
      ),
    );
    const response = await fetch(server.url);
    const reader = textReader(response.body);
    await reader.until('partial');
    clientRead.resolve();
    await expect(reader.all()).rejects.toThrow(); // a cut, not a clean end
    expect(onError).toHaveBeenCalledWith(new Error('disk gone'));
  });

  test('handler errors go to console.error by default', async () => {
    const spy = vi.spyOn(console, 'error').mockImplementation(() => {});
    server = await startServer(
      toNodeHandler(() => {
        throw new Error('oops');
      }),
    );
    expect((await fetch(server.url)).status).toBe(500);
    expect(spy).toHaveBeenCalledWith('ssekit: request handler failed:', new Error('oops'));
    spy.mockRestore();
  });

  test('HTTP/1.0 gets no keep-alive and no chunked framing: the stream ends with the connection', async () => {
    server = await startServer(
      toNodeHandler((request) => createEventStream(request, [{ data: 'one' }])),
    );
    const socket = await rawRequest(server.port, 'GET / HTTP/1.0\r\nhost: x\r\n\r\n');
    const text = await readSocketUntil(socket, 'event: done\ndata: {}\n\n');
    const head = text.slice(0, text.indexOf('\r\n\r\n')).toLowerCase();
    expect(head).toMatch(/^http\/1\.1 200 ok\r\n/);
    expect(head).not.toContain('keep-alive');
    expect(head).not.toContain('transfer-encoding');
    expect(text.endsWith('\r\n\r\ndata: one\n\nevent: done\ndata: {}\n\n')).toBe(true);
    socket.destroy();
  });

  test('an event stream whose headers the handler changed, or whose body it wrapped, goes out so', async () => {
    server = await startServer(
      toNodeHandler((request) => {
        const response = createEventStream(request, [{ data: 'one' }]);
        if (new URL(request.url).pathname === '/wrapped') {
          return new Response(response.body, { headers: { 'content-type': 'text/event-stream' } });
        }
        response.headers.set('x-extra', 'yes');
        return response;
      }),
    );
    const changed = await fetch(server.url);
    expect(changed.headers.get('x-extra')).toBe('yes');
    expect(await textReader(changed.body).all()).toBe('data: one\n\nevent: done\ndata: {}\n\n');
    const wrapped = await fetch(`${server.url}/wrapped`);
    expect(await textReader(wrapped.body).all()).toBe('data: one\n\nevent: done\ndata: {}\n\n');
  });

  test('an event stream response is a Response in full: cloned and read, then sent', async () => {
    const seen: unknown[] = [];
    server = await startServer(
      toNodeHandler(async (request) => {
        const response = createEventStream(request, [{ data: 'one' }]);
        seen.push(response instanceof Response, response.status, response.bodyUsed);
        seen.push(await response.clone().text());
        return response;
      }),
    );
    const response = await fetch(server.url);
    expect(await textReader(response.body).all()).toBe('data: one\n\nevent: done\ndata: {}\n\n');
    expect(seen).toEqual([true, 200, false, 'data: one\n\nevent: done\ndata: {}\n\n']);
  });

  test('heartbeats of idle streams, written to the socket by the adapter', async () => {
    server = await startServer(
      toNodeHandler((request) =>
        createEventStream(
          request,
          (stream) => new Promise((resolve) => stream.signal.addEventListener('abort', resolve)),
          { heartbeatMs: 30 },
        ),
      ),
    );
    const sockets = await Promise.all(
      [1, 2].map(() => rawRequest(server!.port, 'GET / HTTP/1.1\r\nhost: x\r\n\r\n')),
    );
    for (const socket of sockets) {
      expect(await readSocketUntil(socket, ':\n\n\r\n3\r\n:\n\n')).toContain('200 OK');
      socket.destroy();
    }
  });

  test('an event stream through the adapter, exact bytes', async () => {
    server = await startServer(
      toNodeHandler((request) =>
        createEventStream(request, async (stream) => {
          await stream.send({ event: 'token', id: '1', data: 'a\nb' });
        }),
      ),
    );
    const response = await fetch(server.url);
    expect(await textReader(response.body).all()).toBe(
      'event: token\nid: 1\ndata: a\ndata: b\n\nevent: done\ndata: {}\n\n',
    );
  });
});
