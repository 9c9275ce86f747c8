/**
 * The built client in real headless Chromium: bundled into a page, POSTing to a local server,
 * receiving events and resuming after a cut with Last-Event-ID.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { toNodeHandler } from '../../src/adapters/node.ts';
import { createHub } from '../../src/hub/index.ts';
import { bundleForBrowser, launchBrowser } from '../helpers/browser.ts';
import { cutAfterHead } from '../helpers/cut-response.ts';
import { readBody, startServer, type TestServer } from '../helpers/http-server.ts';

let browser: Browser;
let server: TestServer;
const requests: string[] = [];
const plainRequests: string[] = [];
/** A hub run endpoint whose first response is cut after its headers. */
const hub = createHub();
let runs = 0;
const runRequests: string[] = [];
const runHandler = toNodeHandler((request) =>
  hub.stream(request, async (run) => {
    runs++;
    for (const data of ['one', 'two', 'three']) await run.send({ data });
  }),
);

beforeAll(async () => {
  const clientJs = await bundleForBrowser(new URL('../../src/client/index.ts', import.meta.url));
  server = await startServer(async (req, res) => {
    if (req.url === '/client.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(clientJs);
      return;
    }
    if (req.url === '/favicon.ico') {
      res.writeHead(404).end();
      return;
    }
    if (req.url === '/') {
      res
        .writeHead(200, { 'content-type': 'text/html' })
        .end(
          '<!doctype html><title>ssekit</title><script type="module">import * as client from "/client.js"; window.ssekit = client;</script>',
        );
      return;
    }
    if (req.url === '/run') {
      runRequests.push((req.headers['last-event-id'] as string | undefined) ?? '');
      if (runRequests.length === 1) cutAfterHead(res);
      return runHandler(req, res);
    }
    const body = await readBody(req);
    if (req.url === '/plain' || req.url === '/cut-no-id') {
      plainRequests.push(`${req.method} ${req.url}`);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (req.url === '/plain') res.end('data: one\n\ndata: two\n\n');
      else res.write('data: one\n\n', () => setTimeout(() => res.destroy(), 50));
      return;
    }
    const last = Number(req.headers['last-event-id'] ?? 0);
    requests.push(`${req.method} ${body} ${last}`);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    for (let id = last + 1; id <= 10; id++) {
      res.write(`id: ${id}\nevent: token\ndata: {"text":"tök${id}"}\n\n`);
      if (id === 4 && last === 0) {
        // Cut mid-event with a clean end: a reset would race with the bytes Chromium buffered
        // (an errored fetch body drops what JS had not read yet, which only moves the resume
        // point earlier); the Node tests cover resets.
        res.end('id: 5\ndata: cut');
        return;
      }
    }
    res.end('event: done\ndata:\n\n');
  });
  browser = await launchBrowser();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await hub.close();
});

test('fetchEventStream in Chromium: POST, stream, resume after a cut', async () => {
  const page = await browser.newPage();
  await page.goto(server.url);
  await page.waitForFunction(() => 'ssekit' in window);
  const result = await page.evaluate(async () => {
    const { fetchEventStream } = (
      window as unknown as { ssekit: typeof import('../../src/client/index.ts') }
    ).ssekit;
    const texts: string[] = [];
    const retries: number[] = [];
    const stream = fetchEventStream('/chat', {
      json: { prompt: 'hi' },
      retry: { initialDelayMs: 10, maxDelayMs: 20 },
      onRetry: ({ attempt }: { attempt: number }) => retries.push(attempt),
    });
    for await (const event of stream) texts.push(`${event.id}:${JSON.parse(event.data).text}`);
    return { texts, retries, lastEventId: stream.lastEventId, readyState: stream.readyState };
  });
  expect(result).toEqual({
    texts: Array.from({ length: 10 }, (_, index) => `${index + 1}:tök${index + 1}`),
    retries: [1],
    lastEventId: '10',
    readyState: 'closed',
  });
  expect(requests).toEqual(['POST {"prompt":"hi"} 0', 'POST {"prompt":"hi"} 4']);
  await page.close();
});

test('in Chromium too: a clean end is completion, a POST cut without ids is stream-cut, one request each', async () => {
  const page = await browser.newPage();
  await page.goto(server.url);
  await page.waitForFunction(() => 'ssekit' in window);
  const result = await page.evaluate(async () => {
    const { fetchEventStream } = (
      window as unknown as { ssekit: typeof import('../../src/client/index.ts') }
    ).ssekit;
    const retry = { initialDelayMs: 10, maxDelayMs: 20 };
    const plain: string[] = [];
    for await (const event of fetchEventStream('/plain', { json: {}, retry }))
      plain.push(event.data);
    const cut: string[] = [];
    let code = '';
    try {
      for await (const event of fetchEventStream('/cut-no-id', { json: {}, retry }))
        cut.push(event.data);
    } catch (error) {
      code = (error as { code?: string }).code ?? String(error);
    }
    return { plain, cut, code };
  });
  expect(result).toEqual({ plain: ['one', 'two'], cut: ['one'], code: 'stream-cut' });
  expect(plainRequests).toEqual(['POST /plain', 'POST /cut-no-id']);
  await page.close();
});

test('in Chromium: a hub run cut after its headers resumes from its start, never a second run', async () => {
  const page = await browser.newPage();
  await page.goto(server.url);
  await page.waitForFunction(() => 'ssekit' in window);
  const result = await page.evaluate(async () => {
    const { fetchEventStream } = (
      window as unknown as { ssekit: typeof import('../../src/client/index.ts') }
    ).ssekit;
    const events: string[] = [];
    const stream = fetchEventStream('/run', {
      json: { prompt: 'hi' },
      retry: { initialDelayMs: 10, maxDelayMs: 20 },
    });
    for await (const event of stream) events.push(`${event.id} ${event.data}`);
    return { events, lastEventId: stream.lastEventId };
  });
  const runId = result.lastEventId.split('.')[0]!;
  expect(result.events).toEqual([`${runId}.1 one`, `${runId}.2 two`, `${runId}.3 three`]);
  expect(runRequests).toEqual(['', `${runId}.0`]);
  expect(runs).toBe(1);
  await page.close();
});

test('EventSource from ssekit in Chromium behaves like the native one', async () => {
  const page = await browser.newPage();
  await page.goto(server.url);
  await page.waitForFunction(() => 'ssekit' in window);
  const result = await page.evaluate(async () => {
    const { EventSource } = (
      window as unknown as { ssekit: typeof import('../../src/client/index.ts') }
    ).ssekit;
    const run = (Source: new (url: string) => globalThis.EventSource) =>
      new Promise<string[]>((resolve) => {
        const log: string[] = [];
        const source = new Source('/native');
        source.onopen = () => log.push(`open:${source.readyState}`);
        source.addEventListener('token', (event) => {
          const message = event as MessageEvent;
          log.push(`${message.lastEventId}:${message.data}`);
          if (message.lastEventId === '6') {
            source.close();
            resolve(log);
          }
        });
        source.onerror = () => log.push(`error:${source.readyState}`);
      });
    return { ours: await run(EventSource as never), native: await run(globalThis.EventSource) };
  });
  // The native EventSource waits its own reconnection time; the events and states must match.
  expect(result.ours).toEqual(result.native);
  expect(result.ours.slice(0, 2)).toEqual(['open:1', '1:{"text":"tök1"}']);
  await page.close();
}, 30_000);
