/**
 * Hono on Node (@hono/node-server) in front of createEventStream: the client leaving aborts the
 * producer. (The Hono, Next.js and Netlify examples are projects of their own, installed from the
 * packed tarball and run in the slow `frameworks` suite: test/frameworks/.)
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { expect, test } from 'vitest';
import { createEventStream, type EventStreamWriter } from '../../src/server/index.ts';
import { deferred, textReader } from '../helpers/server-stream.ts';

// @hono/node-server returns a node:http server here: drop its idle keep-alive sockets at once.
function closeHono(server: ReturnType<typeof serve>): void {
  (server as unknown as { closeAllConnections(): void }).closeAllConnections();
}

test('hono on @hono/node-server: the client leaving aborts the producer', async () => {
  const opened = deferred<EventStreamWriter>();
  const app = new Hono();
  app.get('/s', (c) =>
    createEventStream(c.req.raw, async (stream) => {
      opened.resolve(stream);
      await stream.send({ data: 'x' });
      await new Promise((resolve) => stream.signal.addEventListener('abort', resolve));
    }),
  );
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const running = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () =>
      resolve(running),
    );
  });
  try {
    const { port } = server.address() as AddressInfo;
    const client = new AbortController();
    const response = await fetch(`http://127.0.0.1:${port}/s`, { signal: client.signal });
    await textReader(response.body).until('data: x\n\n');
    client.abort();
    const stream = await opened.promise;
    await new Promise((resolve) =>
      stream.signal.aborted ? resolve(undefined) : stream.signal.addEventListener('abort', resolve),
    );
    expect(stream.signal.aborted).toBe(true);
  } finally {
    closeHono(server);
    await new Promise((resolve) => server.close(resolve));
  }
});
