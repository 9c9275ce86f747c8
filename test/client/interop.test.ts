/**
 * Streams that nobody here wrote: better-sse and Hono's streamSSE on real servers, and a recorded
 * OpenAI chat-completion stream, consumed by ssekit's client.
 */
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { createSession } from 'better-sse';
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { afterEach, expect, test } from 'vitest';
import { fetchEventStream, type ServerSentEvent } from '../../src/client/index.ts';
import { startServer, type TestServer } from '../helpers/http-server.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function collect(iterable: AsyncIterable<ServerSentEvent>): Promise<ServerSentEvent[]> {
  const events: ServerSentEvent[] = [];
  for await (const event of iterable) events.push(event);
  return events;
}

test('better-sse: named events, ids, multi-line and JSON data', async () => {
  const server: TestServer = await startServer(async (req, res) => {
    const session = await createSession(req, res, { keepAlive: null, retry: 50 });
    session.push({ text: 'Hello' }, 'token', 'b1');
    session.push('line one\nline two', 'note', 'b2');
    session.push('', 'done', 'b3');
    res.end();
  });
  cleanups.push(() => server.close());
  const events = await collect(fetchEventStream(server.url, { method: 'POST', body: '{}' }));
  expect(events).toEqual([
    { type: 'token', data: '{"text":"Hello"}', id: 'b1' },
    { type: 'note', data: '"line one\\nline two"', id: 'b2' },
  ]);
});

test("Hono's streamSSE over @hono/node-server, resumed with Last-Event-ID", async () => {
  const app = new Hono();
  const lastIds: Array<string | undefined> = [];
  app.post('/sse', (c) => {
    const last = Number(c.req.header('last-event-id') ?? 0);
    lastIds.push(c.req.header('last-event-id'));
    return streamSSE(c, async (stream) => {
      for (let id = last + 1; id <= 6; id++) {
        await stream.writeSSE({ data: `chunk ${id}\nsecond line`, event: 'token', id: String(id) });
        if (id === 3 && last === 0) {
          await stream.write('retry: 5\n\n'); // ends early, asking to be resumed
          return;
        }
      }
      await stream.writeSSE({ data: '', event: 'done' });
    });
  });
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;
  const events = await collect(
    fetchEventStream(`http://127.0.0.1:${port}/sse`, {
      json: { q: 1 },
      retry: { initialDelayMs: 5, maxDelayMs: 5 },
    }),
  );
  expect(events.map((event) => `${event.type}:${event.id}:${event.data}`)).toEqual(
    [1, 2, 3, 4, 5, 6].map((id) => `token:${id}:chunk ${id}\nsecond line`),
  );
  expect(lastIds).toEqual([undefined, '3']);
});

test('a recorded OpenAI chat-completion stream ending in data: [DONE], in random chunks', async () => {
  const recorded = readFileSync(new URL('../fixtures/openai-chat-stream.txt', import.meta.url));
  const server = await startServer(async (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
    // Chunks of 1 to 37 bytes: splits land inside UTF-8 characters and between lines.
    for (
      let offset = 0, size = 1;
      offset < recorded.length;
      offset += size, size = (size * 7) % 37 || 1
    ) {
      res.write(recorded.subarray(offset, offset + size));
      await new Promise((resolve) => setImmediate(resolve));
    }
    res.end();
  });
  cleanups.push(() => server.close());
  let text = '';
  let finish: unknown;
  for await (const event of fetchEventStream(server.url, {
    json: { model: 'gpt-4o', stream: true },
  })) {
    const chunk = JSON.parse(event.data) as {
      choices: Array<{ delta: { content?: string }; finish_reason: unknown }>;
    };
    text += chunk.choices[0]?.delta.content ?? '';
    finish = chunk.choices[0]?.finish_reason ?? finish;
  }
  expect(text).toBe('Server-sent events stream text over HTTP: éà 😀\ndone.');
  expect(finish).toBe('stop');
});
