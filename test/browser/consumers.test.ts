/**
 * Consumers nobody here wrote: the `eventsource` npm package, and real headless Chromium's native
 * EventSource and fetch reader. Resuming across a deadline (retry hint, Last-Event-ID) included.
 */
import { EventSource } from 'eventsource';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  createEventStream,
  type EventStreamWriter,
  eventStreamHandler,
} from '../../src/server/index.ts';
import { launchBrowser } from '../helpers/browser.ts';
import type { TestServer } from '../helpers/http-server.ts';
import { deferred, serveWeb, watchUnhandledRejections } from '../helpers/server-stream.ts';

const PAGE = '<!doctype html><title>ssekit</title>';
const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
  });

/**
 * GET /count: events 1 to 6 with their ids, resuming after Last-Event-ID. Each connection lives
 * 90 ms, about three events: the stream ends at its deadline with `retry: 10`, and the client has
 * to resume to see the rest, then `done`.
 */
function countTo6(request: Request): Response {
  return createEventStream(
    request,
    async (stream) => {
      for (let index = Number(stream.lastEventId || 0) + 1; index <= 6; index++) {
        await stream.send({ id: index, data: `n${index}` });
        await sleep(30, stream.signal);
      }
    },
    { maxDurationMs: 100, deadlineMarginMs: 10, retryMs: 10, retryJitterMs: 0 },
  );
}

let server: TestServer;
let other: TestServer;
let browser: Browser;
let chatStream = deferred<EventStreamWriter>();
const rejections = watchUnhandledRejections();

beforeAll(async () => {
  server = await serveWeb((request) => {
    const path = new URL(request.url).pathname;
    if (path === '/count') return countTo6(request);
    return new Response(PAGE, { headers: { 'content-type': 'text/html' } });
  });
  const chat = eventStreamHandler(
    { cors: { origin: server.url }, methods: ['POST'] },
    async (stream, body) => {
      chatStream.resolve(stream);
      const { prompt, forever } = body as { prompt: string; forever?: boolean };
      for (const word of prompt.split(' ')) await stream.send({ event: 'token', data: word });
      if (forever) await sleep(60_000, stream.signal);
    },
  );
  other = await serveWeb(chat);
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
  await other?.close();
  rejections.stop();
  expect(rejections.reasons).toEqual([]);
});

test('the eventsource npm package (GET) resumes across deadlines and stops at done', async () => {
  const received: string[] = [];
  const finished = deferred();
  const source = new EventSource(`${server.url}/count`);
  source.onmessage = (event) => received.push(`${event.lastEventId}:${event.data}`);
  source.addEventListener('done', () => {
    source.close();
    finished.resolve();
  });
  source.onerror = () => {}; // a clean end at the deadline shows up as error + reconnect
  await finished.promise;
  expect(received).toEqual(['1:n1', '2:n2', '3:n3', '4:n4', '5:n5', '6:n6']);
  expect(server.requests).toBeGreaterThanOrEqual(2);
});

describe('headless Chromium', () => {
  test('native EventSource (GET) resumes across deadlines and stops at done', async () => {
    const page = await browser.newPage();
    await page.goto(server.url);
    const received = await page.evaluate(
      () =>
        new Promise<string[]>((resolve) => {
          const seen: string[] = [];
          // globalThis: the page's own EventSource, not the npm one imported by this file
          const source = new globalThis.EventSource('/count');
          source.onmessage = (event) => seen.push(`${event.lastEventId}:${event.data}`);
          source.addEventListener('done', () => {
            source.close();
            resolve(seen);
          });
        }),
    );
    expect(received).toEqual(['1:n1', '2:n2', '3:n3', '4:n4', '5:n5', '6:n6']);
    await page.close();
  });

  test('fetch POST across origins (CORS preflight) reads the exact bytes', async () => {
    chatStream = deferred();
    const page = await browser.newPage();
    await page.goto(server.url);
    const text = await page.evaluate(async (url) => {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'last-event-id': '0' },
        body: JSON.stringify({ prompt: 'hello from chromium' }),
      });
      const reader = response.body!.getReader();
      const decoder = new TextDecoder();
      let all = `${response.status} ${response.headers.get('content-type')}\n`;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return all;
        all += decoder.decode(value, { stream: true });
      }
    }, `${other.url}/chat`);
    expect(text).toBe(
      '200 text/event-stream; charset=utf-8\n' +
        'event: token\ndata: hello\n\nevent: token\ndata: from\n\nevent: token\ndata: chromium\n\n' +
        'event: done\ndata: {}\n\n',
    );
    await page.close();
  });

  test('the page aborting its fetch aborts the producer', async () => {
    chatStream = deferred();
    const page = await browser.newPage();
    await page.goto(server.url);
    await page.evaluate(async (url) => {
      const controller = new AbortController();
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ prompt: 'long answer', forever: true }),
        signal: controller.signal,
      });
      await response.body!.getReader().read();
      controller.abort();
    }, `${other.url}/chat`);
    const stream = await chatStream.promise;
    const aborted = deferred();
    if (stream.signal.aborted) aborted.resolve();
    else stream.signal.addEventListener('abort', () => aborted.resolve());
    await aborted.promise;
    expect((stream.signal.reason as DOMException).name).toBe('AbortError');
    await page.close();
  });
});
