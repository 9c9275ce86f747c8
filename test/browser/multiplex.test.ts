/**
 * ssekit/client/multiplex in real headless Chromium: several pages of one context share one
 * connection (Web Locks leader, BroadcastChannel fan-out); closing the leader page hands the
 * connection to another page, which resumes every topic from its Last-Event-ID; every page's
 * events are exact, in order, none twice. Without Web Locks, each page has its own connection.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { toNodeHandler } from '../../src/adapters/node.ts';
import { createHub, type Hub } from '../../src/hub/index.ts';
import { type CorsOptions, corsPreflight } from '../../src/server/index.ts';
import { bundleForBrowser, launchBrowser } from '../helpers/browser.ts';
import { startServer, type TestServer } from '../helpers/http-server.ts';

let browser: Browser;
let server: TestServer;
let hub: Hub;
/** The event-stream responses still open, with the test (generation) that opened them. */
const live = new Map<ServerResponse, number>();
let generation = 0;
/** Responses to `/hold` not answered yet. */
const held: ServerResponse[] = [];
/**
 * The event-stream requests the pages made (one per `fetch`), counted in the browser, not at the
 * server: on a loaded machine Chromium now and then sends one `fetch` GET twice, on two new
 * sockets 50 ms apart, and abandons the first (seen in CI: the server got two requests with the
 * same tag and Last-Event-ID from a page that called fetch once). That is the browser's, not a
 * connection the client opened.
 */
let opened = 0;

/**
 * A fresh context for the next test: its event-stream requests count in `opened` (from 0), its
 * connections in `openNow()` (a new generation).
 */
async function newContext(): Promise<BrowserContext> {
  generation++;
  opened = 0;
  const context = await browser.newContext();
  context.on('request', (request) => {
    if (request.method() === 'GET' && new URL(request.url()).pathname === '/topics') opened++;
  });
  return context;
}
/** The connections of this test that are open. */
const openNow = () => [...live.values()].filter((made) => made === generation).length;

beforeAll(async () => {
  const clientJs = await bundleForBrowser(
    new URL('../../src/client/multiplex.ts', import.meta.url),
  );
  hub = createHub({ retention: { maxEvents: 10_000 } });
  // The page's origin (127.0.0.1) may also use the hub as http://localhost:<port>: another origin.
  const cors: CorsOptions = { origin: (origin) => origin === server.url };
  const handle = toNodeHandler((request) => {
    const url = new URL(request.url);
    if (url.pathname === '/topics') {
      if (request.method === 'OPTIONS') return corsPreflight(request, cors);
      const topics = url.searchParams.getAll('topic');
      return hub.subscribeMany(request, topics, { heartbeatMs: 1000, cors });
    }
    return hub.handleTopics(request, { cors });
  });
  server = await startServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url === '/multiplex.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(clientJs);
      return;
    }
    if (req.url === '/hold') {
      held.push(res); // answered by the test (a page's synchronous request: its thread waits)
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
          '<!doctype html><title>ssekit</title><script type="module">import * as client from "/multiplex.js"; window.ssekit = client;</script>',
        );
      return;
    }
    if (req.url?.startsWith('/topics')) {
      live.set(res, generation);
      res.on('close', () => live.delete(res));
    }
    return handle(req, res);
  });
  browser = await launchBrowser();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await hub?.close();
});

declare global {
  interface Window {
    ssekit: typeof import('../../src/client/multiplex.ts');
    mux: import('../../src/client/multiplex.ts').Multiplex;
    got: Record<string, number[]>;
    hangs?: Promise<void>;
    errors: string[];
  }
}

/** Opens a page that subscribes to `topics` and records every event's number per topic. */
async function subscriber(page: Page, topics: string[], tabHeartbeatMs = 1000): Promise<void> {
  await page.goto(server.url);
  await page.waitForFunction(() => 'ssekit' in window);
  await page.evaluate(
    async ([names, heartbeatMs]) => {
      window.got = Object.fromEntries(names.map((name) => [name, []]));
      window.mux = window.ssekit.createMultiplex('/topics', {
        controlUrl: '/control',
        retry: { initialDelayMs: 10, maxDelayMs: 50, maxAttempts: 1000 },
        tabHeartbeatMs: heartbeatMs,
      });
      const subscription = window.mux.subscribe(names, (event) =>
        window.got[event.topic]!.push(Number(event.data)),
      );
      await subscription.ready;
    },
    [topics, tabHeartbeatMs] as const,
  );
}

async function waitFor(check: () => boolean | Promise<boolean>, what: () => string) {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > 20_000) throw new Error(`not reached within 20 s: ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Waits until this test has `count` event-stream connections open at the server. */
const waitForOpen = (count: number) =>
  waitFor(
    () => openNow() === count,
    () => `${openNow()} connections open, not ${count}`,
  );

const TOPICS = ['a', 'b', 'c'];

test('three pages share one connection; closing the leader hands it over with no event lost or repeated', async () => {
  const context = await newContext();
  const pages = await Promise.all([context.newPage(), context.newPage(), context.newPage()]);
  const wants = [
    ['a', 'b'],
    ['b', 'c'],
    ['a', 'c'],
  ];
  await subscriber(pages[0]!, wants[0]!); // the first page leads
  await subscriber(pages[1]!, wants[1]!);
  await subscriber(pages[2]!, wants[2]!);
  expect(await Promise.all(pages.map((page) => page.evaluate(() => window.mux.role)))).toEqual([
    'leader',
    'follower',
    'follower',
  ]);
  expect(opened).toBe(1);
  // At the server: one (a copy Chromium sent twice under load closes a few seconds later).
  await waitForOpen(1);

  let next = 0;
  const publish = async (count: number) => {
    for (let index = 0; index < count; index++, next++) {
      await hub.publish(TOPICS[next % 3]!, { data: next });
    }
  };
  await publish(60);
  // The leader goes away while events are published: some reach no page until the hand-off.
  const closing = pages[0]!.close();
  await publish(30);
  await closing;
  await publish(60);

  const expected = (topic: string) =>
    Array.from({ length: next }, (_, index) => index).filter(
      (index) => TOPICS[index % 3] === topic,
    );
  for (const [index, page] of pages.slice(1).entries()) {
    const topics = wants[index + 1]!;
    await waitFor(
      () =>
        page.evaluate(
          ([names, total]) => names.every((name) => window.got[name]!.length >= total),
          [topics, next / 3] as const,
        ),
      () => `page ${index + 2}`,
    );
    const got = await page.evaluate(() => window.got);
    for (const topic of topics)
      expect(got[topic], `page ${index + 2}, topic ${topic}`).toEqual(expected(topic));
  }
  const roles = await Promise.all(
    pages.slice(1).map((page) => page.evaluate(() => window.mux.role)),
  );
  expect(roles.sort()).toEqual(['follower', 'leader']);
  await waitForOpen(1);
  expect(opened).toBe(2); // the first leader's, then the new leader's: never one per page
  await context.close();
});

// Headless Chromium does not freeze a visible page (CDP Page.setWebLifecycleState 'frozen' leaves
// its timers running), so the page's `freeze` event is dispatched by hand: what is tested is the
// hand-off it causes.
test('a leader that freezes steps down: another page leads, no event lost or repeated on any page', async () => {
  const context = await newContext();
  const pages = await Promise.all([context.newPage(), context.newPage()]);
  await subscriber(pages[0]!, ['a', 'b']); // leads
  await subscriber(pages[1]!, ['a', 'b']);
  let next = 0;
  const publish = async (count: number) => {
    for (let index = 0; index < count; index++, next++) {
      await hub.publish(TOPICS[next % 2]!, { data: next });
    }
  };
  await publish(20);
  await pages[0]!.evaluate(() => document.dispatchEvent(new Event('freeze')));
  await publish(20); // during the hand-off

  const expected = (topic: string) =>
    Array.from({ length: next }, (_, index) => index).filter(
      (index) => TOPICS[index % 2] === topic,
    );
  await waitFor(
    () => pages[1]!.evaluate((total) => window.got.b!.length >= total, next / 2),
    () => 'the second page',
  );
  expect(await pages[1]!.evaluate(() => window.mux.role)).toBe('leader');
  expect(await pages[1]!.evaluate(() => window.got)).toEqual({
    a: expected('a'),
    b: expected('b'),
  });
  await waitForOpen(1);
  await publish(20);
  for (const page of pages) {
    await waitFor(
      () => page.evaluate((total) => window.got.b!.length >= total, next / 2),
      () => 'every event',
    );
    expect(await page.evaluate(() => window.got)).toEqual({ a: expected('a'), b: expected('b') });
  }
  expect(await pages[0]!.evaluate(() => window.mux.role)).toBe('follower');
  expect(opened).toBe(2);
  await context.close();
});

test('a page that leads before any event reached it resumes from where it joined, not from now', async () => {
  const context = await newContext();
  const pages = await Promise.all([context.newPage(), context.newPage()]);
  await subscriber(pages[0]!, ['a', 'b']); // leads
  await hub.publish('a', { data: -1 }); // the connection has a position past its start
  await waitFor(
    () => pages[0]!.evaluate(() => window.got.a!.length === 1),
    () => 'the first event',
  );
  await subscriber(pages[1]!, ['a', 'b']); // no event has reached it yet
  // The second page waits on a synchronous request (it cannot take the lock or hear the channel)
  // while the leader steps down: what is published now reaches no page until the second one leads.
  const busy = pages[1]!.evaluate(() => {
    const request = new XMLHttpRequest();
    request.open('GET', '/hold', false);
    request.send();
  });
  await waitFor(
    () => held.length === 1,
    () => 'the second page waiting',
  );
  await pages[0]!.evaluate(() => document.dispatchEvent(new Event('freeze')));
  await waitForOpen(0);
  for (let index = 0; index < 6; index++) await hub.publish(TOPICS[index % 2]!, { data: index });
  held.shift()!.end('go');
  await busy;
  for (const page of pages) {
    await waitFor(
      () => page.evaluate(() => window.got.a!.length + window.got.b!.length >= 6),
      () => `every event on page ${pages.indexOf(page) + 1}`,
    );
  }
  expect(await pages[1]!.evaluate(() => window.mux.role)).toBe('leader');
  expect(await pages[1]!.evaluate(() => window.got)).toEqual({ a: [0, 2, 4], b: [1, 3, 5] });
  expect(await pages[0]!.evaluate(() => window.got)).toEqual({ a: [-1, 0, 2, 4], b: [1, 3, 5] });
  expect(opened).toBe(2);
  await context.close();
});

test('a leader whose main thread hangs is taken over: the followers get every event during the hang, then it follows', async () => {
  const context = await newContext();
  const pages = await Promise.all([context.newPage(), context.newPage(), context.newPage()]);
  for (const page of pages) await subscriber(page, ['a', 'b'], 100); // the first page leads
  expect(await pages[0]!.evaluate(() => window.mux.role)).toBe('leader');
  let next = 0;
  const publish = async (count: number) => {
    for (let index = 0; index < count; index++, next++) {
      await hub.publish(TOPICS[next % 2]!, { data: next });
    }
  };
  const expected = (topic: string) =>
    Array.from({ length: next }, (_, index) => index).filter(
      (index) => TOPICS[index % 2] === topic,
    );
  const gotAll = (page: Page) =>
    waitFor(
      () => page.evaluate((total) => window.got.b!.length >= total, next / 2),
      () => `every event on page ${pages.indexOf(page) + 1}`,
    );
  await publish(20);
  // A busy loop: no freeze, no pagehide, no timer, no message; its Web Lock stays held.
  const hangMs = 8_000;
  const hangStarted = Date.now();
  await pages[1]!.evaluate(() => {
    const channel = new BroadcastChannel('test-hang');
    window.hangs = new Promise((resolve) => {
      channel.onmessage = () => resolve();
    });
  });
  const hang = pages[0]!.evaluate((ms) => {
    new BroadcastChannel('test-hang').postMessage('now'); // delivered while this page loops
    const end = Date.now() + ms;
    while (Date.now() < end) {}
  }, hangMs);
  await pages[1]!.evaluate(() => window.hangs);
  await publish(20);
  for (const page of pages.slice(1)) await gotAll(page);
  // Taken over during the hang (4 missed beats of 100 ms, one more, jitter: well under 8 s).
  expect(Date.now() - hangStarted).toBeLessThan(hangMs);
  const roles = await Promise.all(
    pages.slice(1).map((page) => page.evaluate(() => window.mux.role)),
  );
  expect(roles.sort()).toEqual(['follower', 'leader']);
  for (const page of pages.slice(1))
    expect(await page.evaluate(() => window.got)).toEqual({ a: expected('a'), b: expected('b') });
  await hang;
  await publish(20);
  for (const page of pages) {
    await gotAll(page);
    expect(await page.evaluate(() => window.got)).toEqual({ a: expected('a'), b: expected('b') });
  }
  expect(await pages[0]!.evaluate(() => window.mux.role)).toBe('follower');
  await waitForOpen(1);
  await context.close();
});

test('without Web Locks, each page has its own connection', async () => {
  const context = await newContext();
  await context.addInitScript(() => {
    Object.defineProperty(Navigator.prototype, 'locks', { get: () => undefined });
  });
  const pages = await Promise.all([context.newPage(), context.newPage()]);
  await subscriber(pages[0]!, ['a']);
  await subscriber(pages[1]!, ['a']);
  expect(await Promise.all(pages.map((page) => page.evaluate(() => window.mux.role)))).toEqual([
    'alone',
    'alone',
  ]);
  expect(opened).toBe(2);
  const first = (await hub.publish('a', { data: 1 })) && 1;
  for (const page of pages) {
    await waitFor(
      () => page.evaluate(() => window.got.a!.length === 1),
      () => 'the event',
    );
    expect(await page.evaluate(() => window.got.a)).toEqual([first]);
  }
  await context.close();
});

test('from another origin: topics added and removed on the live connection through CORS control requests', async () => {
  const context = await newContext();
  const page = await context.newPage();
  await page.goto(server.url);
  await page.waitForFunction(() => 'ssekit' in window);
  const hubOrigin = `http://localhost:${server.port}`;
  await page.evaluate(async (origin) => {
    window.got = { a: [], b: [] };
    window.errors = [];
    window.mux = window.ssekit.createMultiplex(`${origin}/topics`, {
      controlUrl: `${origin}/control`,
      shareAcrossTabs: false,
      retry: { initialDelayMs: 10, maxDelayMs: 50 },
      onError: (error) => window.errors.push(String(error)),
    });
    const record = (event: { topic: string; data: string }) =>
      window.got[event.topic]!.push(Number(event.data));
    await window.mux.subscribe('a', record).ready;
    // The connection is live: this one is a control request (a preflighted JSON POST).
    await window.mux.subscribe('b', record).ready;
  }, hubOrigin);
  await hub.publish('a', { data: 1 });
  await hub.publish('b', { data: 2 });
  await waitFor(
    () => page.evaluate(() => window.got.a!.length + window.got.b!.length === 2),
    () => 'both topics',
  );
  expect(await page.evaluate(() => window.got)).toEqual({ a: [1], b: [2] });
  // Refused by the browser, the control request would have failed, and the client would have
  // opened the connection again with both topics: one connection, no error, is CORS working.
  expect(await page.evaluate(() => window.errors)).toEqual([]);
  expect(opened).toBe(1);
  await context.close();
});
