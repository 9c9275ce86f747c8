/**
 * HTTP/2 in real headless Chromium: the Node adapter on `node:http2` (self-signed certificate
 * made here, accepted by the context) holds 20 event streams open at once on one connection,
 * which HTTP/1.1's six connections per origin cannot, and every stream gets its events.
 */
import http2 from 'node:http2';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { toNodeHandler } from '../../src/adapters/node.ts';
import { createHub, type Hub } from '../../src/hub/index.ts';
import { launchBrowser } from '../helpers/browser.ts';
import { selfSignedCertificate } from '../helpers/tls.ts';

let browser: Browser;
let server: http2.Http2SecureServer;
let hub: Hub;
let origin: string;
let sessions = 0;
let streams = 0;

beforeAll(async () => {
  const { key, cert } = selfSignedCertificate();
  hub = createHub();
  const handle = toNodeHandler((request) => {
    const url = new URL(request.url);
    if (url.pathname === '/topics') {
      streams++;
      return hub.subscribeMany(request, url.searchParams.getAll('topic'));
    }
    return new Response('<!doctype html><title>h2</title>', {
      headers: { 'content-type': 'text/html' },
    });
  });
  server = http2.createSecureServer({ key, cert }, handle);
  server.on('session', () => sessions++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `https://localhost:${(server.address() as { port: number }).port}`;
  browser = await launchBrowser();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await hub?.close();
  await new Promise((resolve) => server?.close(resolve));
});

test('Chromium holds 20 event streams open on one HTTP/2 connection', async () => {
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  sessions = 0;
  streams = 0;
  await page.goto(origin);
  await page.evaluate(() => {
    const w = window as unknown as { got: string[][]; sources: EventSource[] };
    w.got = [];
    w.sources = [];
    for (let index = 0; index < 20; index++) {
      const got: string[] = [];
      w.got.push(got);
      const source = new EventSource(`/topics?topic=t${index}`);
      source.onmessage = (event) => got.push(event.data);
      source.addEventListener('subscribed', () => got.push('subscribed'));
      w.sources.push(source);
    }
  });
  await page.waitForFunction(() =>
    (window as unknown as { got: string[][] }).got.every((got) => got.length === 1),
  );
  expect(streams).toBe(20); // all 20 open at once: HTTP/1.1 would hold 14 of them back
  for (let index = 0; index < 20; index++) await hub.publish(`t${index}`, { data: `n${index}` });
  await page.waitForFunction(() =>
    (window as unknown as { got: string[][] }).got.every((got) => got.length === 2),
  );
  const result = await page.evaluate(() => ({
    got: (window as unknown as { got: string[][] }).got,
    protocols: [
      ...new Set(
        performance
          .getEntriesByType('resource')
          .map((entry) => (entry as PerformanceResourceTiming).nextHopProtocol),
      ),
    ],
  }));
  expect(result.got).toEqual(Array.from({ length: 20 }, (_, index) => ['subscribed', `n${index}`]));
  expect(result.protocols).toEqual(['h2']);
  expect(sessions).toBe(1); // the page and its 20 streams: one connection
  await context.close();
});
