/**
 * pauseWhenHidden: a hidden page drops the connection once an id is known, and a visible page
 * resumes it with Last-Event-ID; the request is never re-run from scratch.
 */
import { afterEach, expect, test } from 'vitest';
import { fetchEventStream, type ServerSentEvent } from '../../src/client/index.ts';
import { startServer, type TestServer, writeEventStreamHead } from '../helpers/http-server.ts';

class FakeDocument extends EventTarget {
  visibilityState: 'visible' | 'hidden' = 'visible';
  set(state: 'visible' | 'hidden'): void {
    this.visibilityState = state;
    this.dispatchEvent(new Event('visibilitychange'));
  }
}

let server: TestServer | undefined;
const globals = globalThis as { document?: unknown };
afterEach(async () => {
  delete globals.document;
  await server?.close();
});

test('hidden drops the connection, visible resumes it with Last-Event-ID', async () => {
  const lastIds: Array<string | undefined> = [];
  server = await startServer((req, res) => {
    lastIds.push(req.headers['last-event-id'] as string | undefined);
    writeEventStreamHead(res);
    const from = Number(req.headers['last-event-id'] ?? 0);
    res.write(`id: ${from + 1}\ndata: ${from + 1}\n\n`);
    if (from > 0) res.end('event: done\ndata:\n\n');
  });
  const doc = new FakeDocument();
  globals.document = doc;
  const events: ServerSentEvent[] = [];
  for await (const event of fetchEventStream(server.url, {
    method: 'POST',
    body: 'x',
    pauseWhenHidden: true,
  })) {
    events.push(event);
    if (events.length === 1) {
      doc.set('hidden');
      await server.waitForAborts(1);
      expect(server.requests).toBe(1); // nothing happens while hidden
      doc.set('visible');
    }
  }
  expect(events.map((event) => event.data)).toEqual(['1', '2']);
  expect(lastIds).toEqual([undefined, '1']);
});

test('a stream without an id yet stays connected while hidden (resuming would re-run it)', async () => {
  server = await startServer((_req, res) => {
    writeEventStreamHead(res);
    res.write('data: no id\n\n');
    setTimeout(() => res.end('event: done\ndata:\n\n'), 50);
  });
  const doc = new FakeDocument();
  globals.document = doc;
  const events: ServerSentEvent[] = [];
  for await (const event of fetchEventStream(server.url, { pauseWhenHidden: true })) {
    events.push(event);
    doc.set('hidden');
  }
  expect(events.map((event) => event.data)).toEqual(['no id']);
  expect(server.requests).toBe(1);
  expect(server.aborts).toBe(0);
});
