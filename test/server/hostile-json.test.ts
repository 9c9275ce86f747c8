/**
 * Bodies that are valid JSON but hostile: `__proto__` keys are accepted and pollute nothing;
 * nesting past `maxDepth` (100 000 levels, which `JSON.parse` takes but `JSON.stringify` and other
 * recursive code do not) is a clear 400, through `readJsonBody`, `eventStreamHandler` on a real
 * socket and the hub's cancel endpoint.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createHub } from '../../src/hub/index.ts';
import { RequestError } from '../../src/index.ts';
import { eventStreamHandler, readJsonBody } from '../../src/server/index.ts';
import type { TestServer } from '../helpers/http-server.ts';
import { collectEvents, serveWeb } from '../helpers/server-stream.ts';

const deep = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
const post = (body: string, url = 'http://h/api/chat') =>
  new Request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
const PROTO = '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"a":1}';

let server: TestServer;
beforeAll(async () => {
  server = await serveWeb(
    eventStreamHandler({ onError: () => {} }, async (stream, body) => {
      await stream.send({ event: 'echo', data: body });
    }),
  );
});
afterAll(async () => {
  await server.close();
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
});

test('readJsonBody: __proto__ keys stay own properties; Object.prototype is untouched', async () => {
  const body = (await readJsonBody(post(PROTO))) as Record<string, unknown>;
  expect(Object.getPrototypeOf(body)).toBe(Object.prototype);
  expect(Object.hasOwn(body, '__proto__')).toBe(true);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(JSON.stringify(body)).toBe(PROTO);
});

test('readJsonBody: 1 000 levels pass, 100 000 are a 400 naming the limit; brackets in strings do not count', async () => {
  expect(await readJsonBody(post(deep(1_000)))).toBeInstanceOf(Array);
  const error: unknown = await readJsonBody(post(deep(100_000))).catch((e: unknown) => e);
  if (!RequestError.isInstance(error)) throw new Error(`expected a RequestError, got ${error}`);
  expect([error.status, error.code, error.message]).toEqual([
    400,
    'bad-request',
    'The body of POST /api/chat is nested deeper than the limit of 1000 levels.',
  ]);
  const text = JSON.stringify({ text: '['.repeat(5_000), escaped: '\\"[[[' });
  expect(await readJsonBody(post(text))).toEqual(JSON.parse(text));
  await expect(readJsonBody(post(deep(11)), { maxDepth: 10 })).rejects.toMatchObject({
    code: 'bad-request',
  });
  await expect(readJsonBody(post('1'), { maxDepth: 0 })).rejects.toThrow(TypeError);
});

test('eventStreamHandler on a real socket: 200 and the echo for __proto__ keys, 400 JSON for 100 000 levels', async () => {
  const ok = await fetch(`${server.url}/api/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: PROTO,
  });
  expect(ok.status).toBe(200);
  const [echo] = await collectEvents(ok);
  expect(echo).toMatchObject({ type: 'echo', data: PROTO });
  const refused = await fetch(`${server.url}/api/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: deep(100_000),
  });
  expect([refused.status, (await refused.json()).error.code]).toEqual([400, 'bad-request']);
});

test("the hub's cancel endpoint: a hostile body is a 400 or names no run, never a 500", async () => {
  const hub = createHub();
  const huge = await hub.handleCancel(post(deep(100_000), 'http://h/cancel'));
  expect(huge.status).toBe(413); // the endpoint reads at most 16 KiB
  const deepAnswer = await hub.handleCancel(post(deep(5_000), 'http://h/cancel'));
  expect([deepAnswer.status, (await deepAnswer.json()).error.message]).toEqual([
    400,
    'The body of POST /cancel is nested deeper than the limit of 1000 levels.',
  ]);
  const protoAnswer = await hub.handleCancel(
    post('{"__proto__":{"runId":"AAAAAAAAAAAAAAAAAAAAAA"}}', 'http://h/cancel'),
  );
  expect(protoAnswer.status).toBe(400); // the inherited-looking runId is not read
  await hub.close();
});
