/**
 * The Node adapter on `node:http2` (a secure server with a self-signed certificate made here),
 * driven by Node's own HTTP/2 client: many event streams on one connection, no
 * connection-specific header, a closed stream aborts its producer, and HTTP/2 flow control holds
 * a producer whose client does not read.
 */
import http2 from 'node:http2';
import { afterEach, beforeAll, expect, test } from 'vitest';
import { toNodeHandler } from '../../src/adapters/node.ts';
import { createHub, type Hub } from '../../src/hub/index.ts';
import { createEventStream } from '../../src/server/index.ts';
import { selfSignedCertificate, type TestCertificate } from '../helpers/tls.ts';

let certificate: TestCertificate;
let server: http2.Http2SecureServer | undefined;
let client: http2.ClientHttp2Session | undefined;
let hub: Hub | undefined;

beforeAll(() => {
  certificate = selfSignedCertificate();
});

afterEach(async () => {
  client?.destroy();
  await hub?.close();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = client = hub = undefined;
});

async function listen(handler: (request: Request) => Response | Promise<Response>) {
  let sessions = 0;
  server = http2.createSecureServer(
    { key: certificate.key, cert: certificate.cert, allowHTTP1: true },
    toNodeHandler(handler),
  );
  server.on('session', () => sessions++);
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  client = http2.connect(`https://localhost:${port}`, { ca: certificate.cert });
  return { sessions: () => sessions };
}

/** One request on the session: its headers, and its body as text so far. */
function request(path: string) {
  const stream = client!.request({ ':path': path });
  const result = { headers: undefined as http2.IncomingHttpHeaders | undefined, text: '', stream };
  stream.setEncoding('utf8');
  stream.on('response', (headers) => {
    result.headers = headers;
  });
  stream.on('data', (chunk: string) => {
    result.text += chunk;
  });
  stream.on('error', () => {});
  return result;
}

async function waitFor(check: () => boolean, what: () => string): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > 10_000) throw new Error(`not reached within 10 s: ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

test('20 subscriptions on one HTTP/2 connection, without connection-specific headers', async () => {
  const topics = createHub();
  hub = topics;
  const { sessions } = await listen((req) =>
    topics.subscribeMany(req, new URL(req.url).searchParams.getAll('topic')),
  );
  const streams = Array.from({ length: 20 }, (_, index) => request(`/t?topic=t${index}`));
  await waitFor(
    () => streams.every((stream) => stream.text.includes('event: subscribed')),
    () => `${streams.filter((stream) => stream.text !== '').length} streams open`,
  );
  for (let index = 0; index < 20; index++) await topics.publish(`t${index}`, { data: `n${index}` });
  await waitFor(
    () => streams.every((stream, index) => stream.text.includes(`data: n${index}\n\n`)),
    () => 'every event',
  );
  for (const [index, stream] of streams.entries()) {
    expect(stream.headers![':status']).toBe(200);
    expect(stream.headers!['content-type']).toBe('text/event-stream; charset=utf-8');
    for (const name of ['connection', 'keep-alive', 'transfer-encoding', 'upgrade']) {
      expect(stream.headers![name], name).toBeUndefined();
    }
    expect(stream.text).toMatch(new RegExp(`id: t${index}=\\d+-\\d+\\ndata: n${index}\\n\\n$`));
  }
  expect(sessions()).toBe(1);
});

test('closing one stream aborts its producer; the other streams on the connection go on', async () => {
  const aborted: string[] = [];
  await listen((req) =>
    createEventStream(req, async (stream) => {
      const name = new URL(req.url).pathname;
      await stream.send({ data: name });
      await new Promise((resolve) => stream.signal.addEventListener('abort', resolve));
      aborted.push(name);
    }),
  );
  const first = request('/first');
  const second = request('/second');
  await waitFor(
    () => first.text !== '' && second.text !== '',
    () => 'both streams',
  );
  first.stream.close(http2.constants.NGHTTP2_CANCEL);
  await waitFor(
    () => aborted.length === 1,
    () => 'the abort',
  );
  expect(aborted).toEqual(['/first']);
  expect(second.stream.closed).toBe(false);
  second.stream.close(http2.constants.NGHTTP2_CANCEL);
  await waitFor(
    () => aborted.length === 2,
    () => 'the second abort',
  );
});

test('flow control: a client that does not read holds the producer back; every event arrives once it reads', async () => {
  const chunk = 'x'.repeat(16_384);
  const total = 400; // 6.5 MB: far more than the HTTP/2 windows and socket buffers hold
  let sent = 0;
  let waiting = false;
  await listen((req) =>
    createEventStream(req, async (stream) => {
      for (let index = 0; index < total; index++) {
        waiting = true;
        await stream.send({ id: String(index), data: chunk });
        waiting = false;
        sent++;
      }
    }),
  );
  const slow = client!.request({ ':path': '/big' });
  slow.pause(); // reads nothing: the stream's window fills, then the server's buffers
  let text = '';
  slow.setEncoding('utf8');
  // The producer stops making progress: it waits for room (backpressure), far from the end.
  let last = -1;
  let still = 0;
  await waitFor(
    () => {
      still = sent === last && waiting ? still + 1 : 0;
      last = sent;
      return still >= 20;
    },
    () => `${sent} sent`,
  );
  expect(sent).toBeLessThan(total / 2);
  slow.on('data', (data: string) => {
    text += data;
  });
  slow.resume();
  await new Promise((resolve) => slow.on('end', resolve));
  const ids = [...text.matchAll(/^id: (\d+)$/gm)].map((match) => Number(match[1]));
  expect(ids).toEqual(Array.from({ length: total }, (_, index) => index));
  expect(sent).toBe(total);
});
