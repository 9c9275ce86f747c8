/**
 * ssekit/hub/durable-object in workerd (no nodejs_compat), from the packed package: the shared
 * engine conformance suite against the Durable Object engine running inside a Worker, and the
 * hub on it end to end (a run cut and resumed from another request, a topic across requests, a
 * cancel, and acknowledged appends surviving a restart of workerd).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { compareIds } from '../../src/hub/engine.ts';
import { expectResumedAnswer } from '../frameworks/_chat.ts';
import { engineConformance } from '../hub/engine-conformance.ts';
import { bridgeEngine, type DurableObjectApp, serveDurableObjectApp } from './_durable-object.ts';
import { readAll, readSome } from './_package.ts';

const APP = new URL('./apps/durable-object-app.ts', import.meta.url).pathname;

let app: DurableObjectApp;
beforeAll(async () => {
  app = await serveDurableObjectApp(APP);
});
afterAll(() => app?.close());

// The object writes every append to every tail it holds, so a tail cannot fall behind while its
// stream is up; it can while it reconnects (below, "when its object is reset").
engineConformance('durable-object (in workerd)', {
  create: () => bridgeEngine(app.url),
  pushedTails: true,
});

const post = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

const publish = async (topic: string, data: string): Promise<string> => {
  const response = await fetch(`${app.url}/publish?topic=${topic}`, post({ event: 'news', data }));
  expect(response.status).toBe(200);
  return ((await response.json()) as { id: string }).id;
};

describe('the hub on Durable Objects, a hub per request', () => {
  test('a cut run resumes from another request with Last-Event-ID: the rest exactly once', async () => {
    const first = await readSome(await fetch(`${app.url}/hub`, post({ prompt: 'go' })), 3);
    const runId = first[0]!.id.split('.')[0]!;
    expect(first).toEqual(
      [0, 1, 2].map((index) => ({
        type: 'step',
        data: JSON.stringify({ index }),
        id: `${runId}.${index + 1}`,
      })),
    );
    const resumed = await fetch(`${app.url}/hub`, post({}, { 'last-event-id': first[2]!.id }));
    expect(resumed.headers.get('ssekit-run-id')).toBe(runId);
    const { events } = await readAll(resumed);
    expect(events).toEqual([
      ...[3, 4, 5, 6, 7].map((index) => ({
        type: 'step',
        data: JSON.stringify({ index }),
        id: `${runId}.${index + 1}`,
      })),
      { type: 'done', data: '{"steps":8}', id: `${runId}.9` },
    ]);
    // A finished run replays whole from any request, as long as it is kept.
    const again = await readAll(
      await fetch(`${app.url}/hub`, post({}, { 'last-event-id': `${runId}.0` })),
    );
    expect(again.events.map((event) => event.id)).toEqual(
      [1, 2, 3, 4, 5, 6, 7, 8, 9].map((seq) => `${runId}.${seq}`),
    );
  });

  test('a topic: replay after Last-Event-ID, then live, to two subscribers of two requests', async () => {
    const topic = `news-${Date.now()}`;
    const [a, b, c] = [
      await publish(topic, 'a'),
      await publish(topic, 'b'),
      await publish(topic, 'c'),
    ];
    const resuming = fetch(`${app.url}/subscribe?topic=${topic}`, {
      headers: { 'last-event-id': a },
    }).then((response) => readSome(response, 4));
    const live = await fetch(`${app.url}/subscribe?topic=${topic}`);
    const liveReading = readSome(live, 2);
    // The live subscriber answered: what is published from now on reaches it.
    const d = await publish(topic, 'd');
    const e = await publish(topic, 'e');
    expect(await resuming).toEqual([
      { type: 'news', data: 'b', id: b },
      { type: 'news', data: 'c', id: c },
      { type: 'news', data: 'd', id: d },
      { type: 'news', data: 'e', id: e },
    ]);
    expect(await liveReading).toEqual([
      { type: 'news', data: 'd', id: d },
      { type: 'news', data: 'e', id: e },
    ]);
  });

  test('a 1 MB event is stored and streamed whole (SQLite-backed objects take 2 MB values)', async () => {
    const topic = `large-${Date.now()}`;
    const data = 'x'.repeat(1024 * 1024);
    const live = readSome(await fetch(`${app.url}/subscribe?topic=${topic}`), 1);
    const id = await publish(topic, data);
    expect(await live).toEqual([{ type: 'news', data, id }]);
  });

  test('a cancel from another request stops the producer where it runs', async () => {
    const response = await fetch(`${app.url}/hub?steps=1000`, post({}));
    const runId = response.headers.get('ssekit-run-id')!;
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (!text.includes(`id: ${runId}.2\n`)) {
      const { done, value } = await reader.read();
      if (done) throw new Error(`the run ended early: ${text}`);
      text += decoder.decode(value, { stream: true });
    }
    const cancel = await fetch(`${app.url}/cancel?runId=${runId}`, { method: 'POST' });
    expect(cancel.status).toBe(202);
    expect(await cancel.json()).toEqual({ cancelled: true, runId });
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    expect(text).toMatch(
      new RegExp(`event: done\nid: ${runId}\\.\\d+\ndata: \\{"cancelled":true\\}\n\n$`),
    );
    const steps = text.split('\n').filter((line) => line === 'event: step').length;
    expect(steps).toBeGreaterThanOrEqual(2);
    expect(steps).toBeLessThan(1000);
    // Cancelled means finished: a second cancel finds nothing running.
    expect((await fetch(`${app.url}/cancel?runId=${runId}`, { method: 'POST' })).status).toBe(409);
  });

  test('acknowledged appends survive a restart of workerd (objects on disk)', async () => {
    const topic = `durable-${Date.now()}`;
    const ids = [
      await publish(topic, 'one'),
      await publish(topic, 'two'),
      await publish(topic, 'three'),
    ];
    const run = await readAll(await fetch(`${app.url}/hub?steps=3`, post({})));
    expect(run.events.at(-1)?.type).toBe('done');
    await app.restart(); // SIGKILL: nothing is flushed on the way out
    const replay = await readSome(
      await fetch(`${app.url}/subscribe?topic=${topic}`, { headers: { 'last-event-id': ids[0]! } }),
      2,
    );
    expect(replay).toEqual([
      { type: 'news', data: 'two', id: ids[1] },
      { type: 'news', data: 'three', id: ids[2] },
    ]);
    const runId = run.events[0]!.id.split('.')[0]!;
    const resumed = await readAll(
      await fetch(`${app.url}/hub`, post({}, { 'last-event-id': `${runId}.1` })),
    );
    expect(resumed.events).toEqual(run.events.slice(1));
    // Ids go on increasing after the restart.
    const next = await publish(topic, 'four');
    expect(compareIds(next, ids[2]!)).toBe(1);
  });
});

describe('examples/cloudflare-workers/src/durable-object.ts', () => {
  const example = new URL('../../examples/cloudflare-workers/', import.meta.url).pathname;
  let worker: DurableObjectApp;
  beforeAll(async () => {
    worker = await serveDurableObjectApp(`${example}src/durable-object.ts`);
  });
  afterAll(() => worker?.close());

  test('its wrangler config binds HubObject as HUB with a SQLite migration, no compatibility flags', () => {
    const toml = readFileSync(`${example}wrangler.durable-object.toml`, 'utf8');
    expect(toml).toMatch(
      /\[\[durable_objects\.bindings\]\]\nname = "HUB"\nclass_name = "HubObject"\n/,
    );
    expect(toml).toMatch(/new_sqlite_classes = \["HubObject"\]/);
    expect(toml).toMatch(/^main = "src\/durable-object\.ts"$/m);
    expect(toml).not.toMatch(/compatibility_flags/);
  });

  test('a cut answer resumes from another request: the rest of the run exactly once', async () => {
    await expectResumedAnswer(`${worker.url}/api/chat`);
  });
});

describe('the Durable Object engine when its object is reset', () => {
  test('a tail reports the break, reconnects and resumes after its cursor: every entry once, in order', async () => {
    // The tail waits 1 s before it reconnects: the appends after the reset land meanwhile, and
    // only the replay after its cursor brings them.
    const engine = await bridgeEngine(app.url, 1_000);
    const other = await bridgeEngine(app.url);
    const key = `reset-${Date.now()}`;
    const seen: string[] = [];
    const errors: unknown[] = [];
    const tail = engine.tail(
      key,
      (entry) => seen.push(entry.event.data!),
      (error) => errors.push(error),
    );
    await tail.ready;
    for (let index = 0; index < 5; index++) await other.append(key, { data: `before ${index}` });
    const reset = (await (await fetch(`${app.url}/engine/reset?key=${key}`)).json()) as {
      reset: string;
    };
    expect(reset.reset).toMatch(/reset by the test/);
    for (const started = Date.now(); errors.length === 0 && Date.now() - started < 5_000; )
      await new Promise((resolve) => setTimeout(resolve, 10));
    expect(seen).toHaveLength(5); // the tail is away now
    // Appended while the tail is away: the new instance stores them, the tail replays them.
    for (let index = 0; index < 5; index++) await other.append(key, { data: `after ${index}` });
    const expected = [0, 1, 2, 3, 4]
      .flatMap((index) => [`before ${index}`])
      .concat([0, 1, 2, 3, 4].map((index) => `after ${index}`));
    for (const started = Date.now(); seen.length < 10 && Date.now() - started < 10_000; )
      await new Promise((resolve) => setTimeout(resolve, 20));
    expect(seen).toEqual(expected);
    expect(errors.length).toBeGreaterThanOrEqual(1);
    expect((errors[0] as { message: string }).message).toMatch(/^Durable Object tail failed: /);
    // The reset kept the log: its bounds and ids go on.
    const entries = await other.range(key, undefined, 100);
    expect(entries.map((entry) => entry.event.data)).toEqual(expected);
    tail.close();
    await engine.close();
    await other.close();
  });
});

test('a tail away while retention trimmed past its cursor reports the gap, then goes on', async () => {
  const engine = await bridgeEngine(app.url, 1_000);
  const other = await bridgeEngine(app.url);
  const key = `gap-${Date.now()}`;
  const seen: string[] = [];
  const reports: Array<{ code?: string; gap?: unknown; message?: string }> = [];
  const tail = engine.tail(
    key,
    (entry) => seen.push(entry.id),
    (error) => reports.push(error as never),
  );
  await tail.ready;
  const before = [await other.append(key, { data: 'a' }), await other.append(key, { data: 'b' })];
  for (const started = Date.now(); seen.length < 2 && Date.now() - started < 5_000; )
    await new Promise((resolve) => setTimeout(resolve, 10));
  await fetch(`${app.url}/engine/reset?key=${key}`);
  for (const started = Date.now(); reports.length === 0 && Date.now() - started < 5_000; )
    await new Promise((resolve) => setTimeout(resolve, 10));
  // While the tail waits to reconnect: ten appends, each trimming the log to one entry.
  const away: string[] = [];
  for (let index = 0; index < 10; index++)
    away.push(await other.append(key, { data: `away ${index}` }, { maxLen: 1 }));
  for (const started = Date.now(); !seen.includes(away[9]!) && Date.now() - started < 10_000; )
    await new Promise((resolve) => setTimeout(resolve, 20));
  const live = await other.append(key, { data: 'live' }, { maxLen: 1 }); // the tail is back
  for (const started = Date.now(); !seen.includes(live) && Date.now() - started < 10_000; )
    await new Promise((resolve) => setTimeout(resolve, 20));
  expect(seen).toEqual([...before, away[9], live]);
  const gaps = reports.filter((report) => report.code === 'history-lost');
  expect(gaps).toEqual([
    expect.objectContaining({ code: 'history-lost', gap: { after: before[1], next: away[9] } }),
  ]);
  expect(gaps[0]!.message).toMatch(/^Durable Object tail of .* fell behind/);
  tail.close();
  await engine.close();
  await other.close();
});
