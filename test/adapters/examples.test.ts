/**
 * The repository's node:http example, started for real on a free port and read with its client.
 * (The framework examples are projects of their own, installed from the packed tarball and run in
 * the slow `frameworks` suite: test/frameworks/.)
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, test } from 'vitest';
import { createChatServer } from '../../examples/node-http/server.ts';
import { streamChat } from '../../examples/shared/client.ts';
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

describe.each([['node-http', () => listen(createChatServer())]])('examples/%s', (_name, start) => {
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
