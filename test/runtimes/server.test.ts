/**
 * ssekit/server and ssekit/hub served by real Deno (`Deno.serve`), Bun (`Bun.serve`) and workerd
 * (no nodejs_compat), from the packed package, each read by the Node client.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { client, eventually, readAll, readSome } from './_package.ts';
import { RUNTIMES, type RunningApp, runtimeVersion, serveApp } from './_runtimes.ts';
import { TOKENS } from './apps/server-app.ts';

const SERVER_APP = new URL('./apps/server-app.ts', import.meta.url).pathname;
const HUB_APP = new URL('./apps/hub-app.ts', import.meta.url).pathname;

const post = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

// The binaries are the pinned devDependencies (package.json), whatever else is on the PATH.
test.each([
  ['deno', 'deno 2.9.6'],
  ['bun', 'bun 1.4.5'],
  ['workerd', 'workerd 2026-11-17'],
] as const)('%s is the pinned version', (runtime, version) => {
  expect(runtimeVersion(runtime)).toBe(version);
  console.log(`runtimes: ${version}`);
});

describe.each(RUNTIMES)('%s serves ssekit/server', (runtime) => {
  let app: RunningApp;
  beforeAll(async () => {
    app = await serveApp(runtime, SERVER_APP);
  });
  afterAll(() => app?.close());

  test('tokens with multibyte, astral and NBSP characters, ids, then done', async () => {
    const response = await fetch(`${app.url}/tokens`, post({ prompt: 'Grüße 🌍' }));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(response.headers.get('cache-control')).toContain('no-cache');
    const { events } = await readAll(response);
    expect(events).toEqual([
      { type: 'prompt', data: '{"prompt":"Grüße 🌍"}', id: '' },
      ...TOKENS.map((data, index) => ({ type: 'token', data, id: String(index + 1) })),
      { type: 'done', data: '{"tokens":8}', id: '8' },
    ]);
  });

  test('the Node fetchEventStream reads the tokens to the end', async () => {
    const tokens: string[] = [];
    const stream = client.fetchEventStream(`${app.url}/tokens`, {
      json: { prompt: 'hi' },
      retry: false,
    });
    for await (const event of stream) if (event.type === 'token') tokens.push(event.data);
    expect(tokens).toEqual(TOKENS);
    expect(stream.lastEventId).toBe('8');
  });

  test('a producer error ends the stream with a safe error event', async () => {
    const { text, events } = await readAll(await fetch(`${app.url}/fail`));
    expect(events).toEqual([
      { type: 'message', data: 'before', id: '' },
      { type: 'error', data: '{"message":"Internal server error"}', id: '' },
    ]);
    expect(text).not.toContain('secret');
  });

  test('heartbeat comments keep a quiet stream alive', async () => {
    const { text, events } = await readAll(await fetch(`${app.url}/heartbeat`));
    const beforeData = text.slice(0, text.indexOf('data: after the quiet'));
    expect(beforeData.split('\n').filter((line) => line.startsWith(':')).length).toBeGreaterThan(1);
    expect(events.map((event) => event.type)).toEqual(['message', 'done']);
  });

  // One timer beats for every stream on Node, Deno and Bun; on workerd, which ties timers and I/O
  // to the request that set them, each stream must keep its own: a shared timer set by the first
  // request would stop (or fail to write) once that request ended.
  test('the heartbeats of a stream outlive another request that started first and ended', async () => {
    const first = await fetch(`${app.url}/heartbeat-short`);
    const { text, events } = await readAll(await fetch(`${app.url}/heartbeat`));
    expect((await readAll(first)).events.map((event) => event.type)).toEqual(['message', 'done']);
    const beforeData = text.slice(0, text.indexOf('data: after the quiet'));
    expect(beforeData.split('\n').filter((line) => line.startsWith(':')).length).toBeGreaterThan(1);
    expect(events.map((event) => event.type)).toEqual(['message', 'done']);
  });

  test('the deadline ends each response with a retry hint; Last-Event-ID resumes to the end', async () => {
    const ids: string[] = [];
    let lastEventId = '';
    let responses = 0;
    for (let done = false; !done && responses < 20; ) {
      const headers: Record<string, string> = lastEventId ? { 'last-event-id': lastEventId } : {};
      const { text, events } = await readAll(await fetch(`${app.url}/deadline`, { headers }));
      responses++;
      done = events.at(-1)?.type === 'done';
      if (!done) expect(text).toMatch(/^retry: 10$/m);
      for (const event of events) if (event.type === 'message') ids.push(event.id);
      lastEventId = events.at(-1)?.id ?? lastEventId;
    }
    expect(ids).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(responses).toBeGreaterThan(1);
  });

  test('the client leaving aborts the producer', async () => {
    const name = `leave-${Math.random()}`;
    const leave = new AbortController();
    const response = await fetch(`${app.url}/disconnect?name=${name}`, { signal: leave.signal });
    expect(await readSome(response, 1)).toEqual([{ type: 'message', data: 'waiting', id: '' }]);
    leave.abort();
    const aborted = await eventually(async () => {
      const state = (await (await fetch(`${app.url}/aborted?name=${name}`)).json()) as {
        aborted: boolean;
      };
      return state.aborted;
    });
    expect(aborted).toBe(true);
  });

  test('a client leaving is not an error: the runtime prints no error for it', async () => {
    const name = `quiet-${Math.random()}`;
    const leave = new AbortController();
    const response = await fetch(`${app.url}/disconnect?name=${name}`, { signal: leave.signal });
    await readSome(response, 1);
    const before = app.output.length;
    leave.abort();
    await eventually(async () => {
      const state = await (await fetch(`${app.url}/aborted?name=${name}`)).json();
      return (state as { aborted: boolean }).aborted;
    });
    await fetch(`${app.url}/aborted?name=${name}`); // one more round trip for anything printed
    // Deno printed `AbortError: The request has been cancelled.` twice when the library errored
    // the body with the request's abort reason instead of letting the cancel end it.
    expect(app.output.slice(before)).not.toMatch(/AbortError|Uncaught|Error:/);
  });
});

describe.each(RUNTIMES)('%s serves ssekit/hub (created at module scope)', (runtime) => {
  let app: RunningApp;
  beforeAll(async () => {
    app = await serveApp(runtime, HUB_APP);
  });
  afterAll(() => app?.close());

  test('a cut run resumes with Last-Event-ID: the rest exactly once, then done', async () => {
    const first = await readSome(await fetch(`${app.url}/hub`, post({ prompt: 'go' })), 3);
    expect(first.map((event) => event.data)).toEqual(['{"index":0}', '{"index":1}', '{"index":2}']);
    const runId = first[0]!.id.split('.')[0]!;
    expect(first.map((event) => event.id)).toEqual([1, 2, 3].map((seq) => `${runId}.${seq}`));
    const resumed = await fetch(
      `${app.url}/hub`,
      post({ prompt: 'go' }, { 'last-event-id': first[2]!.id }),
    );
    const { events } = await readAll(resumed);
    expect(events).toEqual([
      ...[3, 4, 5, 6, 7].map((index) => ({
        type: 'step',
        data: JSON.stringify({ index }),
        id: `${runId}.${index + 1}`,
      })),
      { type: 'done', data: '{"steps":8}', id: `${runId}.9` },
    ]);
  });

  test('every response of a run carries ssekit-run-id (CONTRACTS.md: stop is not disconnect)', async () => {
    const first = await fetch(`${app.url}/hub`, post({}));
    const runId = first.headers.get('ssekit-run-id');
    const [event] = await readSome(first, 1);
    expect(runId).toBe(event!.id.split('.')[0]);
    const resumed = await fetch(`${app.url}/hub`, post({}, { 'last-event-id': event!.id }));
    expect(resumed.headers.get('ssekit-run-id')).toBe(runId);
    await resumed.body!.cancel();
  });

  test('the Node fetchEventStream reads a whole run', async () => {
    const steps: string[] = [];
    for await (const event of client.fetchEventStream(`${app.url}/hub`, { json: {} })) {
      if (event.type === 'step') steps.push(event.data);
    }
    expect(steps).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((index) => `{"index":${index}}`));
  });

  test('a topic replays what was published after Last-Event-ID, then goes live', async () => {
    const topic = `news-${Math.random()}`;
    const publish = async (data: string) => {
      const response = await fetch(
        `${app.url}/publish?topic=${topic}`,
        post({ event: 'news', data }),
      );
      return ((await response.json()) as { id: string }).id;
    };
    const [a, b, c] = [await publish('a'), await publish('b'), await publish('c')];
    const response = await fetch(`${app.url}/subscribe?topic=${topic}`, {
      headers: { 'last-event-id': a },
    });
    const reading = readSome(response, 3);
    // Live: published after the subscription answered.
    const d = await publish('d');
    expect(await reading).toEqual([
      { type: 'news', data: 'b', id: b },
      { type: 'news', data: 'c', id: c },
      { type: 'news', data: 'd', id: d },
    ]);
  });

  // Deno and Bun cancel the body the moment the client leaves, which is all ssekit listens to
  // there (no request.signal listener); workerd notices at the next write (the heartbeat).
  test('a topic subscriber whose client leaves is let go at once, not at the next event', async () => {
    const topic = `leave-${Math.random()}`;
    const leave = new AbortController();
    const response = await fetch(`${app.url}/subscribe?topic=${topic}&heartbeat=100`, {
      signal: leave.signal,
    });
    expect(response.status).toBe(200);
    leave.abort();
    const gone = await eventually(
      async () => (await (await fetch(`${app.url}/left?topic=${topic}`)).json()) === 1,
    );
    expect(gone).toBe(true);
  });
});
