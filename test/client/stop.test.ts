/**
 * Stop is not disconnect: against a server that follows the hub's contract (every response of a
 * run carries `ssekit-run-id`; the same request with `ssekit-cancel: <runId>` stops the producer),
 * `stop()` sends exactly that one cancel request, then closes; against a plain server it only
 * closes.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { expect, test } from 'vitest';
import { fetchEventStream, type ServerSentEvent } from '../../src/client/index.ts';
import { readBody, serverPerTest, writeEventStreamHead } from '../helpers/http-server.ts';

const servers = serverPerTest();
const { serve } = servers;

interface Seen {
  method: string | undefined;
  body: string;
  cancel: string | undefined;
  lastEventId: string | undefined;
  authorization: string | undefined;
}

/** A run that streams one event every 10 ms until cancelled; the hub's cancel contract. */
function runServer(seen: Seen[], cancelStatus = 202) {
  let producing = true;
  const handler = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req);
    const cancel = req.headers['ssekit-cancel'] as string | undefined;
    seen.push({
      method: req.method,
      body,
      cancel,
      lastEventId: req.headers['last-event-id'] as string | undefined,
      authorization: req.headers.authorization,
    });
    if (cancel !== undefined) {
      producing = cancelStatus !== 202 && producing;
      res.writeHead(cancelStatus, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ cancelled: cancelStatus === 202, runId: cancel }));
      return;
    }
    writeEventStreamHead(res, { 'ssekit-run-id': 'run-7' });
    let seq = 0;
    const timer = setInterval(() => {
      if (producing) res.write(`id: run-7.${++seq}\ndata: ${seq}\n\n`);
    }, 10);
    res.once('close', () => clearInterval(timer));
  };
  return { handler, producing: () => producing };
}

test('stop() re-sends the same request with ssekit-cancel, then closes quietly', async () => {
  const seen: Seen[] = [];
  const run = runServer(seen);
  const server = await serve(run.handler);
  const closes: unknown[] = [];
  const stream = fetchEventStream(server.url, {
    json: { prompt: 'Hi' },
    headers: { authorization: 'Bearer t' },
    onClose: (info) => closes.push(info.reason),
  });
  const events: ServerSentEvent[] = [];
  let stopping: ReturnType<typeof stream.stop> | undefined;
  for await (const event of stream) {
    events.push(event);
    if (events.length === 2) stopping = stream.stop();
  }
  expect(await stopping).toEqual({ outcome: 'cancelled', runId: 'run-7' });
  expect(events.map((event) => event.data)).toEqual(['1', '2']);
  expect(closes).toEqual(['stopped']);
  expect(seen).toEqual([
    {
      method: 'POST',
      body: '{"prompt":"Hi"}',
      cancel: undefined,
      lastEventId: undefined,
      authorization: 'Bearer t',
    },
    {
      method: 'POST',
      body: '{"prompt":"Hi"}',
      cancel: 'run-7',
      lastEventId: undefined,
      authorization: 'Bearer t',
    },
  ]);
  expect(run.producing()).toBe(false);
  await server.waitForAborts(1); // and the stream's connection was closed
  expect(stream.readyState).toBe('closed');
});

test('a run that had finished: outcome finished; a failed cancel: failed, never thrown', async () => {
  const seen: Seen[] = [];
  const server = await serve(runServer(seen, 409).handler);
  const stream = fetchEventStream(server.url, { json: {} });
  for await (const _ of stream) break; // the first event: the run id is known
  // `break` closed the stream: nothing left to stop, nothing sent.
  expect(await stream.stop()).toEqual({ outcome: 'not-cancellable', runId: 'run-7' });

  const again = fetchEventStream(server.url, { json: {} });
  const iterator = again[Symbol.asyncIterator]();
  await iterator.next();
  expect(await again.stop()).toEqual({ outcome: 'finished', runId: 'run-7' });
  expect(seen.filter((request) => request.cancel !== undefined)).toHaveLength(1);

  const broken = await serve((req, res) => {
    if (req.headers['ssekit-cancel']) {
      res.destroy();
      return;
    }
    writeEventStreamHead(res, { 'ssekit-run-id': 'r' });
    res.write('data: x\n\n');
  });
  const third = fetchEventStream(broken.url);
  await third[Symbol.asyncIterator]().next();
  const result = await third.stop();
  expect(result.outcome).toBe('failed');
  expect(result.error).toBeInstanceOf(Error);
  await expect(third.finished).resolves.toBeUndefined();
});

test('against a plain server stop() only closes: no second request', async () => {
  const server = await serve((_req, res) => {
    writeEventStreamHead(res);
    res.write('data: one\n\n');
  });
  const stream = fetchEventStream(server.url, { json: {} });
  await stream[Symbol.asyncIterator]().next();
  expect(await stream.stop()).toEqual({ outcome: 'not-cancellable', runId: undefined });
  await server.waitForAborts(1);
  expect(server.requests).toBe(1);
});
