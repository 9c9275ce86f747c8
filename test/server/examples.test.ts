/**
 * The Web-handler examples (Hono, Next.js, Netlify), run for real: served on free ports or called
 * directly, and read with their own clients.
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { describe, expect, test } from 'vitest';
import { app as honoApp } from '../../examples/hono/server.ts';
import netlifyEdge, {
  config as edgeConfig,
} from '../../examples/netlify/netlify/edge-functions/chat-relay.ts';
import netlifyFunction, {
  config as functionConfig,
} from '../../examples/netlify/netlify/functions/chat.ts';
import * as route from '../../examples/nextjs/app/api/chat/route.ts';
import { streamChat as streamNext } from '../../examples/nextjs/app/chat-client.ts';
import { streamChat as streamNetlify } from '../../examples/shared/client.ts';
import { createEventStream, type EventStreamWriter } from '../../src/server/index.ts';
import { collectEvents, deferred, serveWeb, textReader } from '../helpers/server-stream.ts';

// @hono/node-server returns a node:http server here: drop its idle keep-alive sockets at once.
function closeHono(server: ReturnType<typeof serve>): void {
  (server as unknown as { closeAllConnections(): void }).closeAllConnections();
}

const ANSWER = 'You asked: "Why SSE?". This answer arrives one token at a time.';

async function collect(tokens: AsyncIterable<string>): Promise<string> {
  let text = '';
  for await (const token of tokens) text += token;
  return text;
}

test('examples/hono: served by @hono/node-server', async () => {
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const running = serve({ fetch: honoApp.fetch, port: 0, hostname: '127.0.0.1' }, () =>
      resolve(running),
    );
  });
  try {
    const { port } = server.address() as AddressInfo;
    const text = await collect(streamNext(`http://127.0.0.1:${port}/api/chat`, 'Why SSE?'));
    expect(text).toBe(ANSWER);
  } finally {
    closeHono(server);
    await new Promise((resolve) => server.close(resolve));
  }
});

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

describe('examples/nextjs', () => {
  test('route segment config for a streaming route', () => {
    expect(route.runtime).toBe('nodejs');
    expect(route.dynamic).toBe('force-dynamic');
    expect(route.maxDuration).toBe(60);
  });

  test('POST called directly with a Request', async () => {
    const response = await route.POST(
      new Request('http://localhost/api/chat', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"prompt":"Why SSE?"}',
      }),
    );
    const events = await collectEvents(response);
    expect(
      events
        .filter((event) => event.type === 'token')
        .map((event) => event.data)
        .join(''),
    ).toBe(ANSWER);
    expect(events.at(-1)?.type).toBe('done');
  });

  test('POST served over HTTP, read by the browser-side client', async () => {
    const server = await serveWeb(route.POST);
    try {
      expect(await collect(streamNext(`${server.url}/api/chat`, 'Why SSE?'))).toBe(ANSWER);
    } finally {
      await server.close();
    }
  });
});

describe('examples/netlify', () => {
  test('the edge function relays the streaming function; JSON errors pass through', async () => {
    expect(functionConfig.path).toBe('/api/chat');
    expect(edgeConfig.path).toBe('/edge/chat');
    // The edge function fetches `/api/chat` on its own origin, as on Netlify: serve both there.
    const edge = await serveWeb((request) => {
      const url = new URL(request.url);
      if (url.pathname === '/api/chat') return netlifyFunction(request);
      return netlifyEdge(request);
    });
    try {
      expect(await collect(streamNetlify(`${edge.url}/edge/chat`, 'Why SSE?'))).toBe(ANSWER);
      const bad = await fetch(`${edge.url}/edge/chat`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"prompt":""}',
      });
      expect(bad.status).toBe(400);
      expect(await bad.json()).toMatchObject({ error: { code: 'bad-request' } });
    } finally {
      await edge.close();
    }
  });

  test('the browser leaving the edge cancels the function stream', async () => {
    const edge = await serveWeb((request) =>
      new URL(request.url).pathname === '/api/chat'
        ? netlifyFunction(request)
        : netlifyEdge(request),
    );
    try {
      const client = new AbortController();
      const tokens = streamNetlify(`${edge.url}/edge/chat`, 'Why SSE?', client.signal);
      await tokens.next();
      client.abort();
      await expect(tokens.next()).rejects.toMatchObject({ name: 'AbortError' });
      // Two connections were cut: browser -> edge, and edge -> function.
      await edge.waitForAborts(2);
    } finally {
      await edge.close();
    }
  });
});
