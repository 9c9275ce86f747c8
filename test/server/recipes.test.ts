/**
 * The recipes quoted in docs/server.md and docs/protocol.md (examples/node-http/recipes.ts), run.
 */
import { expect, test, vi } from 'vitest';
import {
  crossOrigin,
  indexFiles,
  metrics,
  relayOpenAI,
  resumableFeed,
  shutdown,
  untilShutdown,
  withErrorMapping,
} from '../../examples/node-http/recipes.ts';
import { chatCompletions } from '../../examples/openai-compatible/server.ts';
import { collectEvents, serveWeb, textReader } from '../helpers/server-stream.ts';

const get = (headers: HeadersInit = {}, method = 'GET') =>
  new Request('http://localhost/feed', { method, headers });

test('indexFiles: progress events coalesce while the client is behind; done has the result', async () => {
  // Nobody reads until the job is over: only the latest progress is still queued.
  const response = indexFiles(get(), ['a.md', 'b.md']);
  await new Promise((resolve) => setImmediate(resolve));
  expect(await textReader(response.body).all()).toBe(
    'event: progress\ndata: {"phase":"done","fraction":1}\n\nevent: done\ndata: {"indexed":2}\n\n',
  );
});

test('metrics: one value per metric until the client leaves', async () => {
  const reader = textReader(metrics(get(), () => ({ cpu: 0.5, memory: 512 })).body);
  expect(await reader.until('data: 512\n\n')).toBe(
    'event: cpu\ndata: 0.5\n\nevent: memory\ndata: 512\n\n',
  );
  await reader.cancel();
});

test('resumableFeed: resumes after Last-Event-ID', async () => {
  const items = ['a', 'b', 'c'];
  expect(await textReader(resumableFeed(get({ 'last-event-id': '0' }), items).body).all()).toBe(
    'id: 1\ndata: b\n\nid: 2\ndata: c\n\nevent: done\ndata: {}\n\n',
  );
});

test('crossOrigin: preflight and stream', async () => {
  const origin = { origin: 'https://app.example.com' };
  const preflight = crossOrigin(
    get({ ...origin, 'access-control-request-method': 'POST' }, 'OPTIONS'),
  );
  expect(preflight.status).toBe(204);
  expect(preflight.headers.get('access-control-allow-credentials')).toBe('true');
  const response = crossOrigin(get(origin));
  expect(response.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
  expect((await collectEvents(response))[0]?.data).toBe('hello, other origin');
});

test('withErrorMapping: a public message for a known error', async () => {
  const log = vi.fn();
  expect(await textReader(withErrorMapping(get(), log).body).all()).toBe(
    'event: error\ndata: {"message":"Too many requests, try again in a minute.","code":"rate-limited"}\n\n',
  );
  expect(log).toHaveBeenCalledOnce();
});

test('untilShutdown: the server signal ends the stream with a retry hint, no done', async () => {
  vi.spyOn(Math, 'random').mockReturnValue(0);
  const reader = textReader(untilShutdown(get()).body);
  await reader.until('data: connected\n\n');
  shutdown.abort();
  expect(await reader.all()).toBe('id: 1\ndata: connected\n\nretry: 1000\n\n');
  vi.restoreAllMocks();
});

test('relayOpenAI: token events from an OpenAI-compatible upstream', async () => {
  const upstream = await serveWeb(chatCompletions);
  try {
    const response = await relayOpenAI(get(), `${upstream.url}/v1/chat/completions`);
    const events = await collectEvents(response);
    expect(events.at(-1)?.type).toBe('done');
    expect(
      events
        .filter((event) => event.type === 'token')
        .map((event) => event.data)
        .join(''),
    ).toBe('You asked: "hi". This answer arrives one token at a time.');
  } finally {
    await upstream.close();
  }
});
