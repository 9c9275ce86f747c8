/**
 * ssekit/client running INSIDE real Deno, Bun and workerd (no nodejs_compat), from the packed
 * package, against a plain Node server: the iterator, the callbacks, the EventSource class, a cut
 * resumed with Last-Event-ID, and a reconnection through a server restart.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type NodeServer, startNodeServer, TOKENS } from './_node-server.ts';
import { RUNTIMES, type RunningApp, serveApp } from './_runtimes.ts';
import type { ScenarioResult } from './apps/client-app.ts';

const CLIENT_APP = new URL('./apps/client-app.ts', import.meta.url).pathname;
const BODY = JSON.stringify({ prompt: 'Grüße 🌍' });
const tokenEvents = (from = 0) =>
  TOKENS.slice(from).map((data, index) => ({ type: 'token', data, id: String(from + index + 1) }));

let server: NodeServer;
beforeAll(async () => {
  server = await startNodeServer();
});
afterAll(() => server?.close());

describe.each(RUNTIMES)('ssekit/client inside %s', (runtime) => {
  let runner: RunningApp;
  beforeAll(async () => {
    runner = await serveApp(runtime, CLIENT_APP);
  });
  afterAll(() => runner?.close());

  async function run(scenario: string, key = ''): Promise<ScenarioResult> {
    const query = new URLSearchParams({ scenario, target: server.url, key });
    const response = await fetch(`${runner.url}/run?${query}`);
    if (!response.ok) throw new Error(`${response.status}: ${await response.text()}`);
    return (await response.json()) as ScenarioResult;
  }

  test('fetchEventStream as an async iterator: every token, then done ends it', async () => {
    expect(await run('iterator')).toEqual({ events: tokenEvents() });
  });

  test('fetchEventStream with callbacks: onOpen, onEvent, finished', async () => {
    expect(await run('callbacks')).toEqual({ events: tokenEvents(), opened: [200] });
  });

  test('the EventSource class with method, body and headers', async () => {
    expect(await run('event-source')).toEqual({ events: tokenEvents() });
  });

  test('a connection cut mid-body is resumed with Last-Event-ID and the same POST', async () => {
    const key = `cut-${runtime}`;
    const result = await run('cut', key);
    expect(result).toEqual({ events: tokenEvents() });
    expect(server.requests.get(key)).toEqual([
      { method: 'POST', lastEventId: null, body: BODY },
      { method: 'POST', lastEventId: '3', body: BODY },
    ]);
  });

  test('a server restart (connection refused meanwhile) is reconnected and resumed', async () => {
    const key = `restart-${runtime}`;
    const restarts = server.restarts;
    const result = await run('restart', key);
    expect(result).toEqual({ events: tokenEvents() });
    expect(server.restarts).toBe(restarts + 1);
    expect(server.requests.get(key)?.map((request) => request.lastEventId)).toEqual([null, '3']);
  });
});
