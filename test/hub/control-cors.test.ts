/**
 * CORS on the hub's control endpoints (`handleTopics`, `handleCancel`), as on its streams: with
 * `cors`, a preflight is answered (`corsPreflight`), and every answer, refusals included, carries
 * the CORS headers for an allowed origin and none for another; without it, nothing changes.
 * Real sockets: a node:http server through ssekit's Node adapter.
 */
import { afterEach, expect, test } from 'vitest';
import { toNodeHandler } from '../../src/adapters/node.ts';
import { createHub, type Hub } from '../../src/hub/index.ts';
import type { CorsOptions } from '../../src/server/index.ts';
import { startServer, type TestServer } from '../helpers/http-server.ts';

const APP = 'https://app.example';
const cors: CorsOptions = { origin: APP, credentials: true };
const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function serve(withCors: boolean): Promise<{ hub: Hub; server: TestServer }> {
  const hub = createHub();
  const options = withCors ? { cors } : {};
  const server = await startServer(
    toNodeHandler((request) => {
      const { pathname } = new URL(request.url);
      if (pathname === '/topics') return hub.subscribeMany(request, ['a'], options);
      if (pathname === '/cancel') return hub.handleCancel(request, options);
      return hub.handleTopics(request, options);
    }),
  );
  cleanup.push(
    () => hub.close(),
    () => server.close(),
  );
  return { hub, server };
}

/** The CORS headers of a response, and its status. */
function corsOf(response: Response): Record<string, string | number> {
  const out: Record<string, string | number> = { status: response.status };
  response.headers.forEach((value, name) => {
    if (name.startsWith('access-control-') || name === 'vary' || name === 'allow')
      out[name] = value;
  });
  return out;
}

/** Opens a multiplexed connection and returns its id. */
async function connectionOf(server: TestServer): Promise<{ id: string; close(): Promise<void> }> {
  const response = await fetch(`${server.url}/topics`, { headers: { origin: APP } });
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = '';
  while (!text.includes('\n\n')) text += (await reader.read()).value ?? '';
  const id = (JSON.parse(/data: (.*)\n/.exec(text)![1]!) as { connection: string }).connection;
  return { id, close: () => reader.cancel() };
}

const control = (server: TestServer, origin: string, body: unknown) =>
  fetch(`${server.url}/control`, {
    method: 'POST',
    headers: { origin, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

test('handleTopics with cors: preflight, 202, refusals and 405 carry the CORS headers of an allowed origin', async () => {
  const { server } = await serve(true);
  const preflight = await fetch(`${server.url}/control`, {
    method: 'OPTIONS',
    headers: {
      origin: APP,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type',
    },
  });
  expect(corsOf(preflight)).toEqual({
    status: 204,
    'access-control-allow-origin': APP,
    'access-control-allow-credentials': 'true',
    'access-control-allow-methods': 'GET, POST',
    'access-control-allow-headers':
      'content-type, authorization, last-event-id, ssekit-cancel, idempotency-key',
    'access-control-max-age': '600',
    vary: 'origin',
  });
  const connection = await connectionOf(server);
  const allowedHeaders = {
    'access-control-allow-origin': APP,
    'access-control-allow-credentials': 'true',
    'access-control-expose-headers': 'last-event-id, ssekit-run-id',
    vary: 'origin',
  };
  const added = await control(server, APP, { connection: connection.id, add: ['b'] });
  expect(corsOf(added)).toEqual({ status: 202, ...allowedHeaders });
  expect(await added.json()).toMatchObject({ added: ['b'] });
  const bad = await control(server, APP, { connection: 'nope', add: ['b'] });
  expect(corsOf(bad)).toEqual({ status: 400, ...allowedHeaders });
  expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('bad-request');
  const get = await fetch(`${server.url}/control`, { headers: { origin: APP } });
  expect(corsOf(get)).toEqual({ status: 405, ...allowedHeaders, allow: 'POST, OPTIONS' });
  await get.body?.cancel();
  // Another origin: the browser gets no CORS headers, and blocks the answer.
  const foreign = await control(server, 'https://evil.example', {
    connection: connection.id,
    add: ['c'],
  });
  expect(corsOf(foreign)).toEqual({ status: 202, vary: 'origin' });
  await foreign.body?.cancel();
  await connection.close();
});

test('handleCancel with cors: preflight and answers carry the CORS headers', async () => {
  const { server } = await serve(true);
  const preflight = await fetch(`${server.url}/cancel`, {
    method: 'OPTIONS',
    headers: { origin: APP, 'access-control-request-method': 'DELETE' },
  });
  expect(corsOf(preflight)).toMatchObject({ status: 204, 'access-control-allow-origin': APP });
  const unknown = await fetch(`${server.url}/cancel?runId=AAAAAAAAAAAAAAAAAAAAAA`, {
    method: 'DELETE',
    headers: { origin: APP },
  });
  expect(corsOf(unknown)).toMatchObject({ status: 404, 'access-control-allow-origin': APP });
  expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('run-expired');
});

test('without cors, the control endpoints answer as before: no CORS headers, OPTIONS is a 405', async () => {
  const { server } = await serve(false);
  const connection = await connectionOf(server);
  const added = await control(server, APP, { connection: connection.id, add: ['b'] });
  expect(corsOf(added)).toEqual({ status: 202 });
  await added.body?.cancel();
  const preflight = await fetch(`${server.url}/control`, {
    method: 'OPTIONS',
    headers: { origin: APP, 'access-control-request-method': 'POST' },
  });
  expect(corsOf(preflight)).toEqual({ status: 405, allow: 'POST' });
  await preflight.body?.cancel();
  const cancel = await fetch(`${server.url}/cancel`, { method: 'OPTIONS' });
  expect(corsOf(cancel)).toEqual({ status: 405, allow: 'POST, DELETE' });
  await cancel.body?.cancel();
  await connection.close();
});
