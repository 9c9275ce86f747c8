/**
 * The demo page end to end in real headless Chromium (Debian's, via playwright-core): chat with
 * resumption and Stop, the long job, live logs with filter, pause and replay, and the charts.
 * Screenshots go to test-results/; `UPDATE_SCREENSHOT=1` also rewrites docs/demo.png, the README's
 * picture.
 */
import { copyFile, mkdir } from 'node:fs/promises';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { ensureBuilt } from '../../examples/demo/build.ts';
import { type Demo, startDemo } from '../../examples/demo/server/demo.ts';
import { fakeAnswer } from '../../examples/demo/server/fake-model.ts';
import type { RunRecord } from '../../examples/demo/shared.ts';
import { launchBrowser } from '../helpers/browser.ts';

const RESULTS = new URL('../../test-results/', import.meta.url).pathname;
const README_SCREENSHOT = new URL('../../docs/demo.png', import.meta.url).pathname;
const VIEWPORT = { width: 1280, height: 1000 };

let demo: Demo;
let browser: Browser;
let page: Page;
const errors: unknown[] = [];

beforeAll(async () => {
  await Promise.all([ensureBuilt(), mkdir(RESULTS, { recursive: true })]);
  demo = await startDemo({
    port: 0,
    maxDurationMs: 1500, // each chat response is cut after 1 s: resumption in plain sight
    retryMs: 150,
    retryJitterMs: 150,
    tokenDelayMs: 6,
    jobStepMs: 15,
    logIntervalMs: 120,
    metricsIntervalMs: 250,
    onError: (error) => errors.push(error),
  });
  browser = await launchBrowser();
  page = await openPage(demo.url);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await demo?.close();
});

async function openPage(url: string): Promise<Page> {
  const opened = await browser.newPage({ viewport: VIEWPORT });
  opened.on('pageerror', (error) => errors.push(error));
  await opened.goto(url);
  return opened;
}

// expect.poll gives up after 1 s by default; streams and timers here take a few seconds.
const poll = <T>(read: () => Promise<T>) => expect.poll(read, { timeout: 10_000 });

const answerText = (answer: string) =>
  page
    .locator(`${answer} .segment`)
    .allTextContents()
    .then((parts) => parts.join(''));

async function ask(question: string): Promise<void> {
  await page.getByLabel('Message').fill(question);
  await page.getByRole('button', { name: 'Send' }).click();
}

test('live logs and chart points arrive', async () => {
  await poll(() => page.getByTestId('log-line').count()).toBeGreaterThanOrEqual(3);
  await expect
    .poll(() => page.locator('.metrics .chart').first().getAttribute('data-points'))
    .toMatch(/^([3-9]|\d\d+)$/);
  expect(await page.locator('.metrics .status').first().getAttribute('data-status')).toBe('open');
});

test('Stop aborts the answer and cancels the run on the server', async () => {
  await ask('Please stop me');
  const current = '[data-testid=current-answer]';
  await poll(() => answerText(current)).toMatch(/^You asked: "Please stop me"/);
  await page.getByRole('button', { name: 'Stop' }).click();
  await expect
    .poll(() => page.getByTestId('chat-notice').textContent())
    .toBe('Stopped: the run was cancelled on the server.');
  const runId = await page.locator('.chat').getAttribute('data-run-id');
  const runs = (await (await fetch(`${demo.url}/api/debug/runs`)).json()) as { runs: RunRecord[] };
  expect(runs.runs.find((run) => run.runId === runId)).toMatchObject({
    kind: 'chat',
    state: 'cancelled',
  });
  const stoppedAt = await answerText(current);
  expect(stoppedAt.length).toBeLessThan(fakeAnswer([{ role: 'user', content: 'x' }]).length);
  await page.waitForTimeout(100); // no token may arrive after Stop
  expect(await answerText(current)).toBe(stoppedAt);
  await page.screenshot({ path: `${RESULTS}demo-chat-stopped.png` });
});

test('the chat answer streams, is resumed after the deadline, and is exact', async () => {
  const question = 'How do resumable streams work?';
  await ask(question);
  const current = '[data-testid=current-answer]';
  const expected = fakeAnswer([{ role: 'user', content: question }]);
  // Tokens stream: a partial answer shows before the whole one.
  await expect
    .poll(async () => {
      const text = await answerText(current);
      return text.length > 0 && text.length < expected.length && expected.startsWith(text);
    })
    .toBe(true);
  await page.locator(`${current} mark.resumed`).first().waitFor({ state: 'visible' });
  await page.locator(`${current}[data-streaming=false]`).waitFor({ timeout: 15_000 });
  expect(await answerText(current)).toBe(expected);
  expect(await page.locator('.chat .status').getAttribute('data-status')).toBe('closed');
  await page.screenshot({ path: `${RESULTS}demo-chat-resumed.png` });
});

test('the long job runs through its phases to 100 % and shows its result', async () => {
  await page.getByRole('button', { name: 'Start job' }).click();
  await expect
    .poll(() => page.getByTestId('job-percent').getAttribute('data-percent'))
    .not.toBe('0');
  await page.getByTestId('job-result').waitFor();
  expect(await page.getByTestId('job-percent').getAttribute('data-percent')).toBe('100');
  expect(await page.locator('.phase.done').count()).toBe(3);
  expect(await page.getByTestId('job-result').textContent()).toContain('Processed 500 items');
});

test('logs: the level filter, pause with buffering, and replay after a dropped connection', async () => {
  const logs = page.locator('.logs');
  await logs.getByLabel('Level').selectOption('warn');
  await poll(() => logs.getByTestId('log-line').count()).toBeGreaterThanOrEqual(2);
  const levels = await logs.locator('.log-line .level').allTextContents();
  expect(levels.every((level) => level === 'warn' || level === 'error')).toBe(true);

  await logs.getByRole('button', { name: 'Pause' }).click();
  const frozen = await logs.getByTestId('log-line').count();
  await poll(() => logs.locator('.buffered').textContent()).toMatch(/^[1-9]\d* new lines/);
  expect(await logs.getByTestId('log-line').count()).toBe(frozen);
  await logs.getByRole('button', { name: 'Resume' }).click();
  await poll(() => logs.getByTestId('log-line').count()).toBeGreaterThan(frozen);

  // Every line (debug and above) carries a sequence number: none may be lost at the reconnect.
  await logs.getByLabel('Level').selectOption('debug');
  await poll(() => logs.getByTestId('log-line').count()).toBeGreaterThanOrEqual(2);
  await logs.getByRole('button', { name: 'Drop connection' }).click();
  await logs.getByTestId('log-reconnect').waitFor();
  await poll(() => linesAfterReconnect(page)).toBeGreaterThanOrEqual(3);
  const seqs = (await logs
    .getByTestId('log-line')
    .evaluateAll((lines) =>
      lines.map((line) => Number(line.getAttribute('data-seq'))),
    )) as number[];
  expect(seqs).toEqual(seqs.map((_, index) => seqs[0]! + index));
  await page.screenshot({ path: `${RESULTS}demo-logs-replay.png` });
});

const updateScreenshot = process.env.UPDATE_SCREENSHOT === '1';

test(
  'the whole page (the README screenshot)',
  async () => {
    // The README's picture shows the demo as `npm start` runs it (10 s deadline, one sample per
    // second), so it gets a demo on the default timings; the usual run reuses the fast one.
    const own = updateScreenshot
      ? await startDemo({ port: 0, onError: (error) => errors.push(error) })
      : demo;
    try {
      await page.close();
      page = await openPage(own.url);
      await ask('How do resumable streams work?');
      await page.getByRole('button', { name: 'Start job' }).click();
      const answer = page.locator('[data-testid=current-answer][data-streaming=false]');
      await answer.waitFor({ timeout: 30_000 });
      await page.getByTestId('job-result').waitFor({ timeout: 30_000 });
      await expect
        .poll(() => page.locator('.metrics .chart').first().getAttribute('data-points'))
        .toMatch(/^(1\d|[2-9]\d|\d{3})$/);
      await page.screenshot({ path: `${RESULTS}demo-page.png`, fullPage: true });
      if (updateScreenshot) await copyFile(`${RESULTS}demo-page.png`, README_SCREENSHOT);
      expect(errors).toEqual([]);
    } finally {
      if (own !== demo) await own.close();
    }
  },
  updateScreenshot ? 60_000 : 20_000,
);

async function linesAfterReconnect(current: Page): Promise<number> {
  return current.locator('.logs [data-testid=log-reconnect] ~ [data-testid=log-line]').count();
}
