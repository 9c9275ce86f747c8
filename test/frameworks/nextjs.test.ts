/**
 * examples/nextjs as users get it: installed from the packed tarball, `next build`, `next start`,
 * the page (a 'use client' component with useEventStream) rendered by real Chromium, a POST whose
 * tokens arrive one by one, and a client leaving that stops the model.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { launchBrowser } from '../helpers/browser.ts';
import { protocol } from '../runtimes/_package.ts';
import { freePort } from '../runtimes/_runtimes.ts';
import { ANSWER, expectJsonErrors, expectLeaveStopsModel, postPrompt, TOKENS } from './_chat.ts';
import { exampleWorkspace, run, type Started, start } from './_workspace.ts';

const workspace = exampleWorkspace();
const dir = workspace.example('nextjs');

describe('examples/nextjs', () => {
  let server: Started;
  let origin: string;
  beforeAll(async () => {
    run('npm', ['run', 'build'], dir);
    const port = await freePort();
    server = start('npx', ['next', 'start', '-p', String(port), '-H', '127.0.0.1'], dir);
    await server.waitFor(/Ready in/);
    origin = `http://127.0.0.1:${port}`;
  }, 300_000);
  afterAll(() => server?.stop());

  test('the POST streams: tokens arrive in several reads, spread over time', async () => {
    const response = await fetch(`${origin}/api/chat`, postPrompt('Why SSE?'));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = response.body!.pipeThrough(new protocol.EventStreamDecoder()).getReader();
    const arrivals: { type: string; data: string; at: number }[] = [];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      arrivals.push({ type: value.type, data: value.data, at: performance.now() });
    }
    const tokens = arrivals.filter((event) => event.type === 'token');
    expect(tokens.map((event) => event.data)).toEqual(TOKENS);
    expect(arrivals.at(-1)?.type).toBe('done');
    // The model waits 50 ms before each word: a buffered response would deliver every token at
    // once; a streamed one delivers the last one later than the first.
    expect(tokens.at(-1)!.at - tokens[0]!.at).toBeGreaterThan(0);
  });

  test('bad requests get JSON errors', () => expectJsonErrors(`${origin}/api/chat`));

  test('a client leaving stops the model', () =>
    expectLeaveStopsModel(`${origin}/api/chat`, () => server.waitFor(/the model stopped/, 5000)));

  test('the page: useEventStream renders the answer in Chromium', async () => {
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      await page.goto(origin);
      await page.getByRole('button', { name: 'Ask' }).click();
      await page.getByTestId('status').filter({ hasText: 'closed' }).waitFor({ timeout: 20_000 });
      expect(await page.getByTestId('answer').textContent()).toBe(ANSWER);
    } finally {
      await browser.close();
    }
  });
});
