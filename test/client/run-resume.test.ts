/**
 * Resume, never re-run, when a hub run's response is cut after its headers and before its first
 * event: the headers named the run (`ssekit-run-id`), so the client reconnects with
 * `Last-Event-ID: <runId>.0` (the run from its start) instead of sending the request again, which
 * would start a second run. Real sockets: a node:http server with the hub behind ssekit's Node
 * adapter, on the memory, Redis and PostgreSQL engines; the first response's socket is closed
 * right after its head went out. A cut before any response (the run started, its head never went
 * out) is retried, as every failure before the first event is; with an Idempotency-Key the hub
 * answers that retry with the run the first request started, so it never runs twice.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterEach, describe, expect, test } from 'vitest';
import { toNodeHandler } from '../../src/adapters/node.ts';
import {
  EventSource,
  type EventStream,
  fetchEventStream,
  type ServerSentEvent,
} from '../../src/client/index.ts';
import { idempotencyKeyOf } from '../../src/hub/_idempotency.ts';
import { stateKey } from '../../src/hub/_run-ids.ts';
import { createHub, type Hub, type HubEngine, type RunWriter } from '../../src/hub/index.ts';
import { cutAfterHead } from '../helpers/cut-response.ts';
import { startServer, type TestServer } from '../helpers/http-server.ts';
import { hubEngines } from '../helpers/hub-engines.ts';
import { deferred } from '../helpers/server-stream.ts';

const engines = hubEngines('run-resume');
const fast = { initialDelayMs: 5, maxDelayMs: 10 };
const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

/** Closes the socket of the response before its head goes out (the run has started). */
function cutBeforeHead(res: ServerResponse): void {
  const cut = () => {
    res.socket?.destroy();
    return res;
  };
  res.writeHead = cut as typeof res.writeHead;
  res.flushHeaders = cut;
  res.write = (() => cut() && true) as typeof res.write;
  res.end = cut as typeof res.end;
}

interface RunServer {
  server: TestServer;
  /** The Last-Event-ID of each request, '' without one. */
  lastEventIds: string[];
  /** The Idempotency-Key of each request, '' without one. */
  keys: string[];
  /** Runs started. */
  readonly runs: number;
  /** Releases the producer's events (it waits until then). */
  release(): void;
}

async function serveRun(
  engine: HubEngine,
  gated: boolean,
  cut: (res: ServerResponse) => void = cutAfterHead,
): Promise<RunServer> {
  const hub: Hub = createHub({ engine });
  const gate = deferred();
  if (!gated) gate.resolve();
  let runs = 0;
  const lastEventIds: string[] = [];
  const keys: string[] = [];
  const produce = async (run: RunWriter) => {
    runs++;
    await gate.promise;
    for (const data of ['one', 'two', 'three']) await run.send({ event: 'token', data });
    return { words: 3 };
  };
  const handler = toNodeHandler((request) => hub.stream(request, produce));
  const server = await startServer((req: IncomingMessage, res: ServerResponse) => {
    lastEventIds.push((req.headers['last-event-id'] as string | undefined) ?? '');
    if (lastEventIds.length === 1) cut(res);
    keys.push((req.headers['idempotency-key'] as string | undefined) ?? '');
    return handler(req, res);
  });
  cleanup.push(
    () => server.close(),
    () => hub.close(),
  );
  return {
    server,
    lastEventIds,
    keys,
    get runs() {
      return runs;
    },
    release: gate.resolve,
  };
}

/**
 * Reads `stream` to its end; the gated producer is released once the server has had two requests
 * (the first one cut, the retry or resume).
 */
async function readReleased(app: RunServer, stream: EventStream): Promise<ServerSentEvent[]> {
  const events: ServerSentEvent[] = [];
  const reading = (async () => {
    for await (const event of stream) events.push(event);
  })();
  await app.server.waitForRequests(2);
  app.release();
  await reading;
  return events;
}

const expected = (runId: string): ServerSentEvent[] => [
  { type: 'token', data: 'one', id: `${runId}.1` },
  { type: 'token', data: 'two', id: `${runId}.2` },
  { type: 'token', data: 'three', id: `${runId}.3` },
];
/** What an EventSource also dispatches: the run's terminal event. */
const doneEvent = (runId: string): ServerSentEvent => ({
  type: 'done',
  data: '{"words":3}',
  id: `${runId}.4`,
});

describe.each(Object.entries(engines))('a run cut after its headers, on %s', (_name, engine) => {
  test.each([
    ['still running', true],
    ['already finished', false],
  ])('POST: resumed from the run start (%s), one run, every event once', async (_, gated) => {
    const app = await serveRun(engine(), gated);
    const runIds: string[] = [];
    const retries: unknown[] = [];
    const stream = fetchEventStream(app.server.url, {
      json: { prompt: 'count' },
      retry: fast,
      onOpen: (response) => runIds.push(response.headers.get('ssekit-run-id') ?? ''),
      onRetry: ({ error }) => retries.push(error),
    });
    const events = await readReleased(app, stream);
    const runId = runIds[0]!;
    expect(runId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(runIds).toEqual([runId, runId]);
    expect(app.lastEventIds).toEqual(['', `${runId}.0`]);
    expect(events).toEqual(expected(runId));
    expect(app.runs).toBe(1);
    expect(retries).toHaveLength(1);
    expect(stream.lastEventId).toBe(`${runId}.4`);
  });

  test('the stream names the run start as its last event id from the response on', async () => {
    const app = await serveRun(engine(), true);
    const opened = deferred<string>();
    const stream = fetchEventStream(app.server.url, {
      json: {},
      retry: fast,
      onOpen: () => opened.resolve(stream.lastEventId),
    });
    // A page that saved it can resume the run after a reload, before any event arrived.
    const saved = await opened.promise;
    expect(saved).toMatch(/^[A-Za-z0-9_-]{22}\.0$/);
    stream.close();
    app.release();
    const events: ServerSentEvent[] = [];
    for await (const event of fetchEventStream(app.server.url, {
      method: 'POST',
      lastEventId: saved,
      retry: fast,
    }))
      events.push(event);
    expect(events).toEqual(expected(saved.slice(0, -2)));
    expect(app.runs).toBe(1);
  });

  test('EventSource (GET): reconnects to the same run, never a second one', async () => {
    const app = await serveRun(engine(), true);
    // A short reconnection time: the reconnection is what is tested, not the 3 s default.
    const source = new EventSource(app.server.url, { reconnectionTimeMs: 20 });
    cleanup.push(() => source.close());
    const events: ServerSentEvent[] = [];
    const done = deferred();
    for (const type of ['token', 'done']) {
      source.addEventListener(type, (event) => {
        const message = event as MessageEvent<string>;
        events.push({ type, data: message.data, id: message.lastEventId });
        if (type === 'done') done.resolve();
      });
    }
    let errors = 0;
    source.onerror = () => errors++;
    await app.server.waitForRequests(2);
    app.release();
    await done.promise;
    source.close();
    const runId = events[0]!.id.split('.')[0]!;
    expect(app.lastEventIds).toEqual(['', `${runId}.0`]);
    expect(events).toEqual([...expected(runId), doneEvent(runId)]);
    expect(app.runs).toBe(1);
    expect(errors).toBe(1);
  });
});

describe.each(Object.entries(engines))('a run cut before any response, on %s', (_name, engine) => {
  test('a POST with an Idempotency-Key is sent again and reads the run the first one started', async () => {
    const app = await serveRun(engine(), true, cutBeforeHead);
    const key = crypto.randomUUID();
    const runIds: string[] = [];
    const stream = fetchEventStream(app.server.url, {
      json: {},
      headers: { 'idempotency-key': key },
      retry: fast,
      onOpen: (response) => runIds.push(response.headers.get('ssekit-run-id') ?? ''),
    });
    const events = await readReleased(app, stream);
    expect(runIds).toHaveLength(1);
    expect(events).toEqual(expected(runIds[0]!));
    expect(app.keys).toEqual([key, key]);
    expect(app.lastEventIds).toEqual(['', '']);
    expect(app.runs).toBe(1);
  });

  test('the hub: one key, one run, also for requests at once; a key is scoped to its path', async () => {
    const hub = createHub({ engine: engine() });
    cleanup.push(() => hub.close());
    let runs = 0;
    const handler = (request: Request) =>
      hub.stream(request, async (run) => {
        runs++;
        await run.send({ data: 'only' });
      });
    const post = (path: string, key: string) =>
      handler(
        new Request(`http://hub.test${path}`, {
          method: 'POST',
          headers: { 'idempotency-key': key },
        }),
      );
    const key = crypto.randomUUID();
    const responses = await Promise.all([post('/a', key), post('/a', key), post('/a', `"${key}"`)]);
    const bodies = await Promise.all(responses.map((response) => response.text()));
    const runId = responses[0]!.headers.get('ssekit-run-id');
    expect(responses.map((response) => response.headers.get('ssekit-run-id'))).toEqual([
      runId,
      runId,
      runId,
    ]);
    expect(new Set(bodies).size).toBe(1);
    expect(bodies[0]).toContain(`id: ${runId}.1\ndata: only\n`);
    expect(runs).toBe(1);
    const other = await post('/b', key);
    expect(other.headers.get('ssekit-run-id')).not.toBe(runId);
    await other.text();
    expect(runs).toBe(2);
    for (const malformed of ['not ascii: \u00e9', 'k'.repeat(256), '']) {
      const bad = await post('/a', malformed);
      expect(bad.status, malformed).toBe(400);
      expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('bad-request');
    }
    expect(runs).toBe(2);
    const longest = await post('/c', 'k'.repeat(255)); // the longest key taken
    expect(longest.status).toBe(200);
    await longest.text();
    expect(runs).toBe(3);
  });

  // A key claimed for a run that never started must not make every retry wait for it.
  test('a key whose run failed to start: a retry reads that failure at once', async () => {
    const inner = engine();
    let failStart = true;
    const failing: HubEngine = Object.assign(Object.create(inner) as HubEngine, {
      setValue(key: string, value: string, ttlMs: number) {
        if (failStart && key.startsWith(stateKey(''))) {
          failStart = false;
          return Promise.reject(new Error('engine unavailable'));
        }
        return inner.setValue(key, value, ttlMs);
      },
    });
    const hub = createHub({ engine: failing, onError: () => {} });
    cleanup.push(() => hub.close());
    let runs = 0;
    const key = crypto.randomUUID();
    const post = () =>
      hub.stream(
        new Request('http://hub.test/chat', {
          method: 'POST',
          headers: { 'idempotency-key': key },
        }),
        async (run) => {
          runs++;
          await run.send({ data: 'never' });
        },
      );
    await expect(post()).rejects.toThrow('engine unavailable');
    const retry = await post();
    const runId = retry.headers.get('ssekit-run-id');
    expect(await retry.text()).toBe(
      `event: error\nid: ${runId}.1\ndata: {"message":"Internal server error"}\n\n`,
    );
    expect(runs).toBe(0);
  });

  test('a key claimed by an instance that died before starting its run: producer-lost, not a wait', async () => {
    const inner = engine();
    const hub = createHub({ engine: inner, producerLeaseMs: 150, onError: () => {} });
    cleanup.push(() => hub.close());
    const key = crypto.randomUUID();
    const request = () =>
      new Request('http://hub.test/chat', { method: 'POST', headers: { 'idempotency-key': key } });
    // What the lost instance did before it died: the claim, and nothing of the run.
    const lostRun = 'lost0000000000000000_1';
    await inner.append(
      (await idempotencyKeyOf(request()))!,
      { data: lostRun },
      { id: '0-1', ttlMs: 60_000 },
    );
    let runs = 0;
    const response = await hub.stream(request(), async () => {
      runs++;
    });
    expect(response.headers.get('ssekit-run-id')).toBe(lostRun);
    const body = await response.text();
    expect(body).toMatch(
      new RegExp(`^event: error\nid: ${lostRun}\\.1\ndata: .*"code":"producer-lost"`),
    );
    expect(runs).toBe(0);
  });
});
