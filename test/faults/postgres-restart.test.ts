/**
 * A PostgreSQL crash and restart under the hub (a private server, durable commits, stopped with
 * SIGQUIT: no checkpoint, recovery from the WAL at start). A run streams through it with no event
 * lost or duplicated (the engine retries statements that lost their connection; the reader's
 * LISTEN connection comes back and its tail fetches from its cursor), publishes in flight are
 * stored once each (an assigned-id append's retry finds its token), an outage longer than
 * `retryTimeoutMs` fails with a clear EngineError, and every acknowledged append is there after.
 * Each step waits for what it needs (the server down, a send issued, the server up), never for a
 * time.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { fetchEventStream, type ServerSentEvent } from '../../src/client/index.ts';
import { compareIds } from '../../src/hub/engine.ts';
import { createHub } from '../../src/hub/index.ts';
import { createPostgresEngine } from '../../src/hub/postgres.ts';
import { EngineError } from '../../src/index.ts';
import { startPostgres, type TestPostgres } from '../helpers/postgres.ts';

let postgres: TestPostgres;
beforeAll(async () => {
  postgres = await startPostgres({ own: true }); // it kills and restarts the server
});
afterAll(async () => {
  await postgres.stop();
});

/** A promise to resolve from outside, for a step the test waits for. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

test('a run streams through a PostgreSQL crash and restart without losing or duplicating an event', async () => {
  // Statements are retried for up to a minute: nothing here depends on how fast the machine
  // restarts PostgreSQL. The lease is long for the same reason: it is not the subject.
  const engine = createPostgresEngine({
    pool: postgres.pool(),
    schema: postgres.schema(),
    retryTimeoutMs: 60_000,
    retryDelayMs: 20,
  });
  const hub = createHub({ engine, onError: () => {}, producerLeaseMs: 600_000 });
  const stored = deferred(); // the first 10 events are stored (their appends resolved)
  const down = deferred(); // PostgreSQL was killed
  const sentWhileDown = deferred(); // the 11th append went out with PostgreSQL down
  const fetch = async (input: string | URL | Request, init?: RequestInit) =>
    hub.stream(new Request(input, init), async (run) => {
      for (let index = 1; index <= 40; index++) {
        if (index === 11) {
          stored.resolve();
          await down.promise;
        }
        const sent = run.send({ data: String(index) });
        if (index === 11) sentWhileDown.resolve();
        await sent;
      }
    });
  const events: ServerSentEvent[] = [];
  for await (const event of fetchEventStream('http://hub.test/run', { fetch, method: 'POST' })) {
    events.push(event);
    if (events.length === 10) {
      await stored.promise;
      await postgres.kill();
      down.resolve();
      await sentWhileDown.promise;
      await postgres.start();
    }
  }
  const runId = hub.runIdOf(events[0]!.id);
  expect(events.map((event) => event.data)).toEqual(
    Array.from({ length: 40 }, (_, index) => String(index + 1)),
  );
  expect(events.map((event) => event.id)).toEqual(
    Array.from({ length: 40 }, (_, index) => `${runId}.${index + 1}`),
  );
  await hub.close();
  await engine.close();
}, 120_000);

test('publishes in flight during a crash are stored once each; every acknowledged one survives', async () => {
  const schema = postgres.schema();
  const engine = createPostgresEngine({
    pool: postgres.pool(),
    schema,
    retryTimeoutMs: 60_000,
    retryDelayMs: 20,
  });
  const count = 200;
  const acknowledged: Array<{ id: string; data: string }> = [];
  const halfway = deferred();
  const publishes = Array.from({ length: count }, async (_, index) => {
    const data = String(index + 1);
    const id = await engine.append('topic:crash', { data }, { maxLen: 10_000 });
    acknowledged.push({ id, data });
    if (acknowledged.length === count / 4) halfway.resolve();
  });
  await halfway.promise;
  await postgres.kill(); // appends in flight: one mid-commit, the rest queued behind it
  await postgres.start();
  await Promise.all(publishes);
  // A fresh engine reads what the recovered server holds.
  const reader = createPostgresEngine({ pool: postgres.pool(), schema });
  const entries = await reader.range('topic:crash', undefined, 10_000);
  expect(entries.map((entry) => entry.event.data)).toEqual(
    Array.from({ length: count }, (_, index) => String(index + 1)),
  );
  const byId = (a: { id: string }, b: { id: string }) => compareIds(a.id, b.id);
  expect(acknowledged.map(({ id, data }) => ({ id, event: { data } })).sort(byId)).toEqual(entries);
  await Promise.all([engine.close(), reader.close()]);
}, 120_000);

test('an outage longer than retryTimeoutMs fails appends with a clear EngineError; they work again after', async () => {
  const schema = postgres.schema();
  const engine = createPostgresEngine({
    pool: postgres.pool(),
    schema,
    retryTimeoutMs: 200,
    retryDelayMs: 20,
  });
  const id = await engine.append('log', { data: 'acknowledged' });
  await postgres.kill();
  const error = await engine.append('log', { data: 'lost?' }).catch((e) => e);
  expect(EngineError.isInstance(error)).toBe(true);
  expect(error.code).toBe('engine-error');
  expect(error.message).toMatch(/^PostgreSQL append failed: /);
  await postgres.start();
  const after = await engine.append('log', { data: 'after' });
  expect(await engine.range('log', undefined, 10)).toEqual([
    { id, event: { data: 'acknowledged' } },
    { id: after, event: { data: 'after' } },
  ]);
  await engine.close();
}, 120_000);
