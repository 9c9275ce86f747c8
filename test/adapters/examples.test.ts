/**
 * The Node examples, started for real on free ports and read with their own clients.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpRequest, InvocationContext } from '@azure/functions';
import { afterAll, describe, expect, test } from 'vitest';
import { chatHandler } from '../../examples/azure-functions/src/handler.ts';
import { createApp as createExpressApp } from '../../examples/express/server.ts';
import { createApp as createFastifyApp } from '../../examples/fastify/server.ts';
import { createApp as createKoaApp } from '../../examples/koa/server.ts';
import { createChatServer } from '../../examples/node-http/server.ts';
import { streamChat } from '../../examples/shared/client.ts';
import { EventStreamDecoder } from '../../src/index.ts';
import { watchUnhandledRejections } from '../helpers/server-stream.ts';

const ANSWER = 'You asked: "Why SSE?". This answer arrives one token at a time.';

async function collect(tokens: AsyncIterable<string>): Promise<string[]> {
  const all: string[] = [];
  for await (const token of tokens) all.push(token);
  return all;
}

async function listen(server: Server): Promise<{ url: string; close(): Promise<void> }> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

const rejections = watchUnhandledRejections();
afterAll(() => {
  rejections.stop();
  expect(rejections.reasons).toEqual([]);
});

describe.each([
  ['node-http', () => listen(createChatServer())],
  ['express', () => listen(createServer(createExpressApp()))],
  ['koa', () => listen(createServer(createKoaApp().callback()))],
  [
    'fastify',
    async () => {
      const app = createFastifyApp();
      await app.listen({ port: 0, host: '127.0.0.1' });
      const { port } = app.server.address() as AddressInfo;
      return { url: `http://127.0.0.1:${port}`, close: () => app.close() };
    },
  ],
])('examples/%s', (_name, start) => {
  test('streams the answer token by token to its client; refuses bad requests as JSON', async () => {
    const server = await start();
    try {
      const tokens = await collect(streamChat(`${server.url}/api/chat`, 'Why SSE?'));
      expect(tokens.length).toBeGreaterThan(5);
      expect(tokens.join('')).toBe(ANSWER);
      const bad = await fetch(`${server.url}/api/chat`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: 'hi',
      });
      expect(bad.status).toBe(415);
      expect(await bad.json()).toMatchObject({ error: { code: 'unsupported-media-type' } });
    } finally {
      await server.close();
    }
  });
});

describe('examples/azure-functions', () => {
  test('the handler streams when called with an HttpRequest', async () => {
    const result = await chatHandler(
      new HttpRequest({
        method: 'POST',
        url: 'http://localhost:7071/api/chat',
        headers: { 'content-type': 'application/json' },
        body: { string: '{"prompt":"Why SSE?"}' },
      }),
      new InvocationContext({ functionName: 'chat' }),
    );
    expect(result.status).toBe(200);
    const reader = (result.body as ReadableStream<Uint8Array>)
      .pipeThrough(new EventStreamDecoder())
      .getReader();
    const types: string[] = [];
    let text = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      types.push(value.type);
      if (value.type === 'token') text += value.data;
    }
    expect(text).toBe(ANSWER);
    expect(types.at(-1)).toBe('done');
  });
});
