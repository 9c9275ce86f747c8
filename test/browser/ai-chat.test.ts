/**
 * ssekit/ai in real headless Chromium: a React page with `useChat({ transport, resume: true })`
 * (ssekit/ai/client) against createChatStreams on a hub, the AI SDK's test model as the model.
 * The page is reloaded mid-answer: the reloaded page shows the whole answer, once, and the model
 * ran once.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createHub, type Hub } from '../../src/hub/index.ts';
import { ANSWER, type ScriptedModel, scriptedModel, serveChat } from '../ai/chat-app.ts';
import { bundleForBrowser, launchBrowser } from '../helpers/browser.ts';
import type { TestServer } from '../helpers/http-server.ts';

const PAGE =
  '<!doctype html><meta charset="utf-8"><title>chat</title><div id="root"></div><script type="module" src="/page.js"></script>';

let browser: Browser;
let server: TestServer;
let hub: Hub;
let model: ScriptedModel;

beforeAll(async () => {
  const pageJs = await bundleForBrowser(new URL('./fixtures/ai-chat-page.tsx', import.meta.url));
  model = scriptedModel(4);
  hub = createHub();
  server = await serveChat(hub, model, (request) => {
    const path = new URL(request.url).pathname;
    if (path === '/') return new Response(PAGE, { headers: { 'content-type': 'text/html' } });
    if (path === '/page.js') {
      return new Response(pageJs, { headers: { 'content-type': 'text/javascript' } });
    }
    if (path === '/favicon.ico') return new Response(null, { status: 404 });
    return undefined;
  });
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await hub?.close();
});

test('a reload mid-answer: the reloaded page resumes the answer, whole and once; one model call', async () => {
  const page = await browser.newPage();
  await page.goto(server.url);
  await page.waitForFunction(() => 'send' in window);
  await page.evaluate(() =>
    (window as unknown as { send(text: string): void }).send('Say the words'),
  );
  await model.atGate;
  await page.waitForFunction(
    () => document.querySelector('p.assistant')?.textContent === 'w0 w1 w2 w3 ',
  );

  await page.reload();
  await page.waitForFunction(() => document.querySelector('main')?.dataset.status === 'streaming');
  model.release();
  await page.waitForFunction(() => document.querySelector('main')?.dataset.status === 'ready');
  const shown = await page.$$eval('p', (nodes) =>
    nodes.map((node) => `${node.className}: ${node.textContent}`),
  );
  expect(shown).toEqual(['user: Say the words', `assistant: ${ANSWER}`]);
  expect(model.calls).toBe(1);
  await page.close();
});
