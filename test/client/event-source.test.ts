import { afterEach, expect, test } from 'vitest';
import { EventSource } from '../../src/client/index.ts';
import {
  type NodeHandler,
  readBody,
  serverPerTest,
  writeEventStreamHead,
} from '../helpers/http-server.ts';

const servers = serverPerTest();
const { serve } = servers;
const sources: EventSource[] = [];

afterEach(() => {
  for (const source of sources.splice(0)) source.close();
});

function open(url: string, init?: ConstructorParameters<typeof EventSource>[1]): EventSource {
  const source = new EventSource(url, init);
  sources.push(source);
  return source;
}

/** Records every event an EventSource fires, as "type:data:lastEventId:readyState". */
function record(
  source: EventSource,
  types: string[],
): { log: string[]; next(count: number): Promise<void> } {
  const log: string[] = [];
  let waiter: { count: number; resolve: () => void } | undefined;
  for (const type of types) {
    source.addEventListener(type, (event) => {
      const message = event as MessageEvent;
      log.push(
        message.data === undefined
          ? `${type}:${source.readyState}`
          : `${type}:${message.data}:${message.lastEventId}:${source.readyState}`,
      );
      if (waiter && log.length >= waiter.count) waiter.resolve();
    });
  }
  return {
    log,
    next: (count) =>
      new Promise<void>((resolve) => {
        if (log.length >= count) resolve();
        else waiter = { count, resolve };
      }),
  };
}

test('has the standard shape: constants, readyState, url, withCredentials', async () => {
  const { url } = await serve((_req, res) => writeEventStreamHead(res));
  const source = open(`${url}/path?q=1`, { withCredentials: true });
  expect([EventSource.CONNECTING, EventSource.OPEN, EventSource.CLOSED]).toEqual([0, 1, 2]);
  expect([source.CONNECTING, source.OPEN, source.CLOSED]).toEqual([0, 1, 2]);
  expect(source.readyState).toBe(0);
  expect(source.url).toBe(`${url}/path?q=1`);
  expect(source.withCredentials).toBe(true);
  expect(source).toBeInstanceOf(EventTarget);
  // WebIDL: constants on the prototype, the class string, a boolean init member, a null init.
  expect(Object.keys(source)).toEqual([]);
  expect(Object.prototype.toString.call(source)).toBe('[object EventSource]');
  expect(open(url, { withCredentials: 1 as never }).withCredentials).toBe(true);
  expect(open(url, null).withCredentials).toBe(false);
  expect(() => new EventSource('http://[::1')).toThrow(/invalid URL/);
  await new Promise((resolve) => source.addEventListener('open', resolve));
  expect(source.readyState).toBe(1);
  source.close();
  expect(source.readyState).toBe(2);
});

test('dispatches message and named events with data, lastEventId and origin; on* handlers', async () => {
  const { url } = await serve((_req, res) => {
    writeEventStreamHead(res);
    res.write(
      'id: 1\ndata: hello\n\nevent: update\ndata: a\ndata: b\n\n: comment\n\ndata: again\n\n',
    );
  });
  const source = open(url);
  const { log, next } = record(source, ['open', 'message', 'update']);
  const handled: string[] = [];
  source.onmessage = (event) => handled.push((event as MessageEvent).data);
  expect(typeof source.onmessage).toBe('function');
  let origin = '';
  source.addEventListener('message', (event) => {
    origin = (event as MessageEvent).origin;
  });
  await next(4);
  expect(log).toEqual(['open:1', 'message:hello:1:1', 'update:a\nb:1:1', 'message:again:1:1']);
  expect(handled).toEqual(['hello', 'again']);
  expect(origin).toBe(url);
});

test('reconnects after the stream ends: error event, CONNECTING, retry: delay, Last-Event-ID', async () => {
  const lastIds: Array<string | undefined> = [];
  const { url } = await serve((req, res) => {
    lastIds.push(req.headers['last-event-id'] as string | undefined);
    writeEventStreamHead(res);
    if (lastIds.length === 1) res.end('retry: 10\nid: 5\ndata: first\n\n');
    else res.write('data: second\n\n');
  });
  const source = open(url);
  const { log, next } = record(source, ['open', 'message', 'error']);
  await next(5);
  expect(log).toEqual(['open:1', 'message:first:5:1', 'error:0', 'open:1', 'message:second:5:1']);
  expect(lastIds).toEqual([undefined, '5']);
});

test('fails the connection on a non-200 status or a wrong content type: error, then CLOSED', async () => {
  for (const respond of [
    (res: Parameters<NodeHandler>[1]) => res.writeHead(500).end(),
    (res: Parameters<NodeHandler>[1]) => res.writeHead(204).end(),
    (res: Parameters<NodeHandler>[1]) =>
      res.writeHead(200, { 'content-type': 'text/plain' }).end('data: x\n\n'),
  ]) {
    const srv = await serve((_req, res) => respond(res));
    const source = open(srv.url);
    const { log, next } = record(source, ['open', 'message', 'error']);
    await next(1);
    expect(log).toEqual(['error:2']);
    expect(srv.requests).toBe(1);
    await srv.close();
  }
});

test('a request that cannot be built fails at once instead of retrying forever', async () => {
  const srv = await serve((_req, res) => writeEventStreamHead(res));
  const source = open(srv.url, { headers: { 'x-bad': 'line\nbreak' } });
  const { log, next } = record(source, ['open', 'message', 'error']);
  await next(1);
  expect(log).toEqual(['error:2']);
  expect(srv.requests).toBe(0);
});

test('close() inside a listener stops further events from the same chunk', async () => {
  const { url } = await serve((_req, res) => {
    writeEventStreamHead(res);
    res.write('data: one\n\ndata: two\n\n');
  });
  const source = open(url);
  const seen: string[] = [];
  await new Promise<void>((resolve) => {
    source.onmessage = (event) => {
      seen.push((event as MessageEvent).data);
      source.close();
      setTimeout(resolve, 20);
    };
  });
  expect(seen).toEqual(['one']);
  await servers.current?.waitForAborts(1);
});

test('extension: POST with a body and headers, resent on reconnection', async () => {
  const requests: string[] = [];
  const { url } = await serve(async (req, res) => {
    requests.push(
      `${req.method} ${req.headers.authorization} ${await readBody(req)} ${req.headers['last-event-id']}`,
    );
    writeEventStreamHead(res);
    res.end(`retry: 5\nid: ${requests.length}\ndata: n\n\n`);
  });
  const source = open(url, {
    method: 'POST',
    body: '{"q":1}',
    headers: { authorization: 'Bearer t' },
  });
  const { next } = record(source, ['message']);
  await next(2);
  expect(requests.slice(0, 2)).toEqual([
    'POST Bearer t {"q":1} undefined',
    'POST Bearer t {"q":1} 1',
  ]);
});

test('Last-Event-ID carries a non-ASCII id as its UTF-8 bytes (the browser does the same)', async () => {
  const lastIds: Array<string | undefined> = [];
  const { url } = await serve((req, res) => {
    const header = req.headers['last-event-id'] as string | undefined;
    // Node reads header bytes as Latin-1: one character per byte.
    lastIds.push(header === undefined ? undefined : Buffer.from(header, 'latin1').toString('utf8'));
    writeEventStreamHead(res);
    res.end(lastIds.length === 1 ? 'retry: 5\nid: é€😀\ndata: a\n\n' : 'data: b\n\n');
  });
  const source = open(url);
  const { log, next } = record(source, ['message', 'error']);
  await next(3);
  expect(log.slice(0, 3)).toEqual(['message:a:é€😀:1', 'error:0', 'message:b:é€😀:1']);
  expect(lastIds.slice(0, 2)).toEqual([undefined, 'é€😀']);
});

test('Content-Type as Fetch extracts it: of several values the last valid one counts', async () => {
  for (const [values, opens] of [
    [['text/plain', 'text/event-stream'], true],
    [['text/event-stream', 'not a type'], true],
    [['text/event-stream', '*/*'], true],
    [['text/event-stream', 'text/plain'], false],
    [['TEXT/Event-Stream ; charset=utf-8'], true],
    [['text/event-streams'], false],
  ] as const) {
    const srv = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': [...values] }).end('data: x\n\n');
    });
    const source = open(srv.url);
    const { log, next } = record(source, ['open', 'message', 'error']);
    await next(opens ? 2 : 1);
    expect(log.slice(0, opens ? 2 : 1), values.join(', ')).toEqual(
      opens ? ['open:1', 'message:x::1'] : ['error:2'],
    );
    source.close();
    await srv.close();
  }
});

test('a retry: past what a timer holds waits, instead of wrapping to a few milliseconds', async () => {
  const { url, waitForRequests } = await serve((_req, res) => {
    writeEventStreamHead(res);
    res.end('retry: 4294967306\ndata: a\n\n'); // 2^32 + 10: setTimeout would fire after 10 ms
  });
  const source = open(url);
  const { log, next } = record(source, ['message', 'error']);
  await next(2);
  const reconnected = await Promise.race([
    waitForRequests(2).then(() => true),
    new Promise((resolve) => setTimeout(resolve, 300, false)),
  ]);
  expect(reconnected).toBe(false);
  expect(log).toEqual(['message:a::1', 'error:0']);
});

test('a URL fetch cannot load fails at once, without a request (browsers do)', async () => {
  let calls = 0;
  const fetch = async () => {
    calls++;
    return new Response('');
  };
  const source = open('ftp://example.not/', { fetch });
  const { log, next } = record(source, ['open', 'error']);
  await next(1);
  expect(log).toEqual(['error:2']);
  expect(calls).toBe(0);
});

test('after a redirect, reconnections go to where it led (as Chromium does)', async () => {
  const paths: string[] = [];
  const { url } = await serve((req, res) => {
    paths.push(`${req.url} ${req.headers['last-event-id'] ?? '-'}`);
    if (req.url === '/start') {
      res.writeHead(302, { location: '/stream' }).end();
      return;
    }
    writeEventStreamHead(res);
    res.end(paths.length === 2 ? 'retry: 5\nid: 1\ndata: a\n\n' : 'data: b\n\n');
  });
  const source = open(`${url}/start`);
  const { log, next } = record(source, ['message', 'error']);
  await next(3);
  expect(log.slice(0, 3)).toEqual(['message:a:1:1', 'error:0', 'message:b:1:1']);
  expect(paths.slice(0, 3)).toEqual(['/start -', '/stream -', '/stream 1']);
  expect(source.url).toBe(`${url}/start`);
});

test('on* handlers are event handler attributes: a new value keeps its place, null removes it', async () => {
  const { url } = await serve((_req, res) => {
    writeEventStreamHead(res);
    res.write('data: 1\n\ndata: 2\n\n');
  });
  const source = open(url);
  const calls: string[] = [];
  source.onmessage = () => calls.push('first');
  source.addEventListener('message', () => calls.push('listener'));
  source.onmessage = (event) => calls.push(`handler ${(event as MessageEvent).data}`);
  source.onopen = () => calls.push('open first');
  source.addEventListener('open', () => calls.push('open listener'));
  source.onopen = null;
  source.onopen = () => calls.push('open again');
  (source as unknown as { onerror: unknown }).onerror = 'not a function';
  expect(source.onerror).toBe(null);
  const { next } = record(source, ['message']);
  await next(2);
  expect(calls).toEqual([
    'open listener',
    'open again',
    'handler 1',
    'listener',
    'handler 2',
    'listener',
  ]);
});
