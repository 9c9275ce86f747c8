/**
 * Multiplexed subscriptions (src/hub/_multiplex.ts): several topics on one connection, each
 * event id holding every topic's position, topics added and removed on the live connection from
 * another instance, the authorization hook, history and presence. On the memory engine, a real
 * redis-server and a real PostgreSQL, two hubs sharing the storage as two instances would.
 */

import type { Pool } from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import {
  createHub,
  createMemoryEngine,
  type Hub,
  type HubEngine,
  type HubOptions,
} from '../../src/hub/index.ts';
import { createPostgresEngine } from '../../src/hub/postgres.ts';
import { createRedisEngine } from '../../src/hub/redis.ts';
import { prefixed } from '../helpers/hub-engines.ts';
import { startPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { counting, subscriber } from './topic-fan-out.ts';

let redis: TestRedis;
let postgres: TestPostgres;
let pool: Pool;
let schema: string;
beforeAll(async () => {
  [redis, postgres] = await Promise.all([startRedis(), startPostgres()]);
  schema = postgres.schema();
  pool = postgres.pool({ max: 12, idleTimeoutMillis: 0, options: '-c synchronous_commit=off' });
  const setup = createPostgresEngine({ pool, schema }); // its tables, made once
  await setup.getValue('setup');
  await setup.close();
}, 60_000);
afterAll(async () => {
  await Promise.all([redis.stop(), postgres.stop()]);
});

let prefixes = 0;
/** Two engines over one storage, as two instances have. */
const engines: Record<string, () => [HubEngine, HubEngine]> = {
  memory: () => {
    const engine = createMemoryEngine();
    // One engine, two hubs: closing either hub must not close it for the other.
    const shared = { ...engine, close: async () => {} };
    return [shared, shared];
  },
  redis: () => {
    const prefix = `multiplex-test:${process.pid}:${++prefixes}:`;
    return [
      createRedisEngine({ redis: redis.client(), prefix, blockMs: 200 }),
      createRedisEngine({ redis: redis.client(), prefix, blockMs: 200 }),
    ];
  },
  postgres: () => {
    const prefix = `multiplex-test:${++prefixes}:`;
    return [
      prefixed(createPostgresEngine({ pool, schema }), prefix),
      prefixed(createPostgresEngine({ pool, schema }), prefix),
    ];
  },
};

/** A subscription's reader (test/hub/topic-fan-out.ts `subscriber`), with its topics told apart. */
function reader(response: Response) {
  const stream = subscriber(response);
  const { events } = stream;
  return {
    events,
    start: stream.start,
    /** The app's events of `topic` (the first entry of their ids), as `data`. */
    of: (topic: string) =>
      events.filter((event) => topicOf(event.id) === topic && !META.has(event.type)),
    meta: (type: string) => events.filter((event) => event.type === type),
    async until(check: () => boolean, what = 'the expected events') {
      stream.start();
      await waitFor(() => check() || stream.ended).catch((error) => {
        throw new Error(`${what}: ${JSON.stringify(events.map((e) => [e.type, e.id, e.data]))}`, {
          cause: error,
        });
      });
      if (!check())
        throw new Error(`ended before ${what}: ${JSON.stringify(events.map((e) => e.data))}`);
    },
    cancel: stream.cancel,
  };
}

const META = new Set(['subscribed', 'unsubscribed', 'topic-error', 'history-lost']);

function topicOf(id: string): string {
  return decodeURIComponent(id.split(',')[0]!.split('=')[0]!);
}

async function waitFor(check: () => boolean): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > 10_000) throw new Error('condition not reached within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const request = (headers: Record<string, string> = {}) =>
  new Request('http://hub.test/topics', { headers });

describe.each(Object.keys(engines))('multiplexed topics on the %s engine', (engineName) => {
  let hubs: Hub[] = [];
  let opened: HubEngine[] = [];
  const open = (options: HubOptions = {}): [Hub, Hub] => {
    const [a, b] = engines[engineName]!();
    opened.push(a, b);
    const made: [Hub, Hub] = [
      createHub({ engine: a, onError: vi.fn(), ...options }),
      createHub({ engine: b, onError: vi.fn(), ...options }),
    ];
    hubs.push(...made);
    return made;
  };
  afterEach(async () => {
    for (const hub of hubs) await hub.close();
    hubs = [];
    // A hub does not close its engine: the application owns it.
    for (const engine of opened) await engine.close();
    opened = [];
  });

  test('one connection, several topics: each event id holds every position, and a plain Last-Event-ID resumes each topic exactly', async () => {
    const [hub] = open();
    await hub.publish('a', { data: 'a0' }); // before the subscription: not delivered
    const first = reader(await hub.subscribeMany(request(), ['a', 'b c/d']));
    await first.until(() => first.meta('subscribed').length === 1);
    const subscribed = JSON.parse(first.events[0]!.data) as {
      connection: string;
      topics: string[];
    };
    expect(subscribed.topics).toEqual(['a', 'b c/d']);
    expect(subscribed.connection).toMatch(/^[A-Za-z0-9_-]{22}$/);
    await hub.publish('a', { data: 'a1' });
    await hub.publish('b c/d', { event: 'tick', data: 'b1' });
    await hub.publish('a', { data: 'a2' });
    await first.until(() => first.events.length === 4);
    // Each topic in order (across topics, the order is each tail's: Redis reads them apart).
    expect(first.of('a').map((event) => [event.type, event.data])).toEqual([
      ['message', 'a1'],
      ['message', 'a2'],
    ]);
    expect(first.of('b c/d').map((event) => [event.type, event.data])).toEqual([['tick', 'b1']]);
    const cut = first.events.findIndex((event) => event.data === 'b1');
    expect(first.events[cut]!.id).toMatch(/^b%20c%2Fd=\d+-\d+,a=(\d+-\d+)?$/);
    await first.cancel();

    // Resume from b1: the events of `a` it had not seen then, and what was published since.
    const resumeFrom = first.events[cut]!.id;
    const seen = first.events.slice(0, cut + 1).map((event) => event.data);
    await hub.publish('b c/d', { data: 'b2' });
    await hub.publish('a', { data: 'a3' });
    const expectedA = ['a1', 'a2', 'a3'].filter((data) => !seen.includes(data));
    const second = reader(
      await hub.subscribeMany(request({ 'last-event-id': resumeFrom }), ['a', 'b c/d']),
    );
    await second.until(
      () => second.of('a').length === expectedA.length && second.of('b c/d').length === 1,
    );
    expect(second.of('a').map((event) => event.data)).toEqual(expectedA);
    expect(second.of('b c/d').map((event) => event.data)).toEqual(['b2']);
    expect(second.meta('history-lost')).toEqual([]);
    await second.cancel();
  });

  test('a resume follows the request: a topic in the id resumes, a new one starts now, a dropped one is gone; trimmed history is reported per topic', async () => {
    const [hub] = open({ retention: { maxEvents: 3 } });
    const first = reader(await hub.subscribeMany(request(), ['kept', 'dropped', 'trimmed']));
    await hub.publish('kept', { data: 'k1' });
    await first.until(() => first.of('kept').length === 1);
    const resumeFrom = first.of('kept')[0]!.id;
    await first.cancel();
    await hub.publish('kept', { data: 'k2' });
    await hub.publish('dropped', { data: 'd1' });
    await hub.publish('added', { data: 'before' }); // published before `added` was asked for
    for (let index = 1; index <= 6; index++) await hub.publish('trimmed', { data: `t${index}` });
    const second = reader(
      await hub.subscribeMany(request({ 'last-event-id': resumeFrom }), [
        'kept',
        'trimmed',
        'added',
      ]),
    );
    await second.until(
      () => second.of('kept').length === 1 && second.of('trimmed').at(-1)?.data === 't6',
    );
    await hub.publish('added', { data: 'after' });
    await second.until(() => second.of('added').length === 1);
    expect(second.of('kept').map((event) => event.data)).toEqual(['k2']);
    // `trimmed` was empty when subscribed: from the start of what is retained (the last 3; on
    // Redis, retention by count is approximate: whole stream nodes), no loss reported.
    const trimmed = second.of('trimmed').map((event) => event.data);
    expect(['t1', 't2', 't3', 't4', 't5', 't6'].slice(-trimmed.length)).toEqual(trimmed);
    if (engineName === 'memory') expect(trimmed).toEqual(['t4', 't5', 't6']);
    expect(second.of('added').map((event) => event.data)).toEqual(['after']);
    expect(second.of('dropped')).toEqual([]);
    expect(JSON.parse(second.meta('subscribed')[0]!.data).topics).toEqual([
      'kept',
      'trimmed',
      'added',
    ]);
    await second.cancel();

    // A position older than the retained history: history-lost for that topic, then the rest.
    const stale = resumeFrom.replace(/kept=\d+-\d+/, 'kept=1-0');
    const third = reader(await hub.subscribeMany(request({ 'last-event-id': stale }), ['kept']));
    await third.until(() => third.of('kept').length === 2);
    const lost = third.meta('history-lost').map((event) => JSON.parse(event.data));
    expect(lost).toEqual([{ topic: 'kept', requested: '1-0', from: expect.any(String) }]);
    expect(third.of('kept').map((event) => event.data)).toEqual(['k1', 'k2']);
    await third.cancel();
  });

  test('filter(topic, event) runs per connection', async () => {
    const [hub] = open();
    const connection = reader(
      await hub.subscribeMany(request(), ['logs', 'alerts'], {
        filter: (topic, event) => topic === 'alerts' || event.event !== 'debug',
      }),
    );
    await connection.until(() => connection.meta('subscribed').length === 1);
    await hub.publish('logs', { event: 'debug', data: 'hidden' });
    await hub.publish('alerts', { event: 'debug', data: 'shown' });
    await hub.publish('logs', { event: 'info', data: 'shown too' });
    await connection.until(
      () => connection.of('logs').length + connection.of('alerts').length === 2,
    );
    expect(connection.of('logs').map((event) => event.data)).toEqual(['shown too']);
    expect(connection.of('alerts').map((event) => event.data)).toEqual(['shown']);
    await connection.cancel();
  });

  test('coalesce(topic, event): a connection that is behind gets the latest value per topic and key; its ids still resume exactly', async () => {
    const [hub] = open();
    const dashboard = reader(
      await hub.subscribeMany(request(), ['cpu', 'disk'], { coalesce: () => 'value' }),
    );
    const witness = reader(await hub.subscribeMany(request(), ['cpu', 'disk']));
    witness.start();
    for (let index = 0; index < 100; index++) {
      await hub.publish(index % 2 === 0 ? 'cpu' : 'disk', { data: index });
    }
    await witness.until(() => witness.of('cpu').length + witness.of('disk').length === 100);
    await dashboard.until(() => dashboard.events.some((event) => event.data === '99'));
    // What the response's own stream took before the reader came (its queue may hold the first
    // event or two under load) is delivered as it was; all that waited is coalesced to the latest.
    const values = dashboard.events
      .filter((event) => event.type === 'message')
      .map((e) => Number(e.data));
    expect(values.slice(-2)).toEqual([98, 99]);
    expect(values.length).toBeLessThanOrEqual(6);
    expect(values).toEqual([...values].sort((a, b) => a - b));
    // The last id positions both topics at their last events: a resume gets nothing old.
    const resumed = reader(
      await hub.subscribeMany(request({ 'last-event-id': dashboard.events.at(-1)!.id }), [
        'cpu',
        'disk',
      ]),
    );
    await hub.publish('cpu', { data: 'new' });
    await resumed.until(() => resumed.of('cpu').length === 1);
    expect(resumed.of('disk')).toEqual([]);
    expect(resumed.of('cpu')[0]!.data).toBe('new');
    for (const connection of [dashboard, witness, resumed]) await connection.cancel();
  });

  test('a malformed Last-Event-ID is a 400; topics are checked too', async () => {
    const [hub] = open({ maxTopicsPerConnection: 3 });
    for (const id of [
      'garbage',
      'a=1-1,', // an empty entry
      'a=1-1,a=2-2', // a topic twice
      'a=1-x',
      '%E0%A4%A=1-1', // broken percent-encoding
      'a b=1-1', // not percent-encoded
      '%01=1-1', // a control character in the name
      'a=1-1,b=1-1,c=1-1,d=1-1', // more topics than allowed
      'a=1-1x', // junk after the cursor
      'a=12345678901234567-1', // a part longer than 16 digits
    ]) {
      const response = await hub.subscribeMany(request({ 'last-event-id': id }), ['a']);
      expect(response.status, id).toBe(400);
      const body = (await response.json()) as { error: { code: string } };
      expect(body.error.code).toBe('bad-request');
    }
    expect((await hub.subscribeMany(request(), ['a', ''])).status).toBe(400);
    expect((await hub.subscribeMany(request(), ['a', 'b', 'c', 'd'])).status).toBe(400);
    await expect(hub.subscribeMany(request(), 'a' as never)).rejects.toThrow(TypeError);
  });

  test('the authorization hook is called for every subscription; a denied topic gets a topic-error, the others go on', async () => {
    const authorizeTopic = vi.fn(
      (topic: string, req: Request) =>
        !topic.startsWith('private/') || req.headers.get('authorization') === 'Bearer ok',
    );
    const [hub] = open({ authorizeTopic });
    const connection = reader(await hub.subscribeMany(request(), ['news', 'private/x']));
    await connection.until(() => connection.meta('subscribed').length === 1);
    expect(connection.events.map((event) => [event.type, JSON.parse(event.data)])).toEqual([
      [
        'topic-error',
        {
          topic: 'private/x',
          code: 'topic-forbidden',
          message: 'Not allowed to subscribe to "private/x".',
        },
      ],
      ['subscribed', { connection: expect.any(String), topics: ['news'] }],
    ]);
    await hub.publish('private/x', { data: 'secret' });
    await hub.publish('news', { data: 'hello' });
    await connection.until(() => connection.of('news').length === 1);
    expect(connection.events.map((event) => event.data)).not.toContain('secret');
    expect(authorizeTopic.mock.calls.map(([topic]) => topic)).toEqual(['news', 'private/x']);
    // A single-topic subscription that is denied: a 403, which stops every kind of client.
    const denied = await hub.subscribe(request(), 'private/x');
    expect(denied.status).toBe(403);
    expect(((await denied.json()) as { error: { code: string } }).error.code).toBe(
      'topic-forbidden',
    );
    const allowed = await hub.subscribe(request({ authorization: 'Bearer ok' }), 'private/x');
    expect(allowed.status).toBe(200);
    await allowed.body!.cancel();
    await connection.cancel();
  });

  test('topics are added and removed on the live connection, from another instance, without reconnecting', async () => {
    const [holder, other] = open({
      authorizeTopic: (topic) => topic !== 'forbidden',
    });
    const connection = reader(await holder.subscribeMany(request(), ['a']));
    await connection.until(() => connection.meta('subscribed').length === 1);
    const id = (JSON.parse(connection.events[0]!.data) as { connection: string }).connection;
    const control = (body: unknown) =>
      other.handleTopics(
        new Request('http://hub.test/topics/control', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        }),
      );
    const added = await control({ connection: id, add: ['b', 'forbidden'] });
    expect(added.status).toBe(202);
    expect(await added.json()).toEqual({
      connection: id,
      added: ['b'],
      removed: [],
      denied: [
        {
          topic: 'forbidden',
          code: 'topic-forbidden',
          message: 'Not allowed to subscribe to "forbidden".',
        },
      ],
    });
    await connection.until(() => connection.meta('subscribed').length === 2);
    expect(JSON.parse(connection.meta('subscribed')[1]!.data)).toEqual({
      connection: id,
      topics: ['b'],
    });
    expect(JSON.parse(connection.meta('topic-error')[0]!.data).topic).toBe('forbidden');
    await other.publish('b', { data: 'b1' });
    await other.publish('a', { data: 'a1' });
    await connection.until(
      () => connection.of('a').length === 1 && connection.of('b').length === 1,
    );
    expect(connection.of('a')[0]!.id).toMatch(/^a=\d+-\d+,b=(\d+-\d+)?$/);

    expect((await control({ connection: id, remove: ['a'] })).status).toBe(202);
    await connection.until(() => connection.meta('unsubscribed').length === 1);
    const unsubscribed = connection.meta('unsubscribed')[0]!;
    expect(JSON.parse(unsubscribed.data)).toEqual({ topics: ['a'] });
    expect(unsubscribed.id).toMatch(/^b=\d+-\d+$/);
    await other.publish('a', { data: 'a2' });
    await other.publish('b', { data: 'b2' });
    await connection.until(() => connection.of('b').length === 2);
    expect(connection.of('a').map((event) => event.data)).toEqual(['a1']);

    // Refusals: bad ids, bad topics, wrong method.
    expect((await control({ connection: 'nope', add: ['x'] })).status).toBe(400);
    expect((await control({ connection: id, add: 'x' })).status).toBe(400);
    expect((await control({ connection: id, add: ['\u0000'] })).status).toBe(400);
    const get = await other.handleTopics(new Request('http://hub.test/topics/control'));
    expect(get.status).toBe(405);
    await connection.cancel();
  });

  test('a connection that does not read catches up: every topic in order, none twice', async () => {
    const [hub] = open({ retention: { maxEvents: 10_000 } });
    const slow = reader(await hub.subscribeMany(request(), ['x', 'y'], { highWaterMark: 256 }));
    const count = 600;
    for (let start = 0; start < count; start += 100) {
      await Promise.all(
        Array.from({ length: 100 }, (_, offset) =>
          hub.publish(offset % 2 === 0 ? 'x' : 'y', { data: String(start + offset) }),
        ),
      );
    }
    await slow.until(() => slow.of('x').length + slow.of('y').length === count);
    const x = slow.of('x').map((event) => Number(event.data));
    const y = slow.of('y').map((event) => Number(event.data));
    expect(x).toEqual(Array.from({ length: count / 2 }, (_, index) => index * 2));
    expect(y).toEqual(Array.from({ length: count / 2 }, (_, index) => index * 2 + 1));
    // Every id holds the latest position of both topics as sent so far.
    const last = slow.events.at(-1)!.id;
    expect(last.split(',')).toHaveLength(2);
    await slow.cancel();
  }, 60_000);

  test('a reconnect storm: 100 connections resuming one id share their reads of the log, and each gets exactly the rest', async () => {
    const [engine] = engines[engineName]!();
    opened.push(engine);
    const counted = counting(engine);
    const hub = createHub({ engine: counted.engine, onError: vi.fn() });
    hubs.push(hub);
    const first = reader(await hub.subscribeMany(request(), ['a', 'b']));
    await first.until(() => first.meta('subscribed').length === 1);
    for (let index = 1; index <= 4; index++) {
      await hub.publish('a', { data: `a${index}` });
      await hub.publish('b', { data: `b${index}` });
    }
    await first.until(() => first.of('a').length === 4 && first.of('b').length === 4);
    const cut = first.events.findIndex((event) => event.data === 'b2');
    const resumeFrom = first.events[cut]!.id;
    const seen = first.events.slice(0, cut + 1).map((event) => event.data);
    await first.cancel();

    const [boundsBefore, rangesBefore] = [counted.bounds(), counted.ranges()];
    const count = 100;
    const headers = { 'last-event-id': resumeFrom };
    const storm = await Promise.all(
      Array.from({ length: count }, async () =>
        reader(await hub.subscribeMany(request(headers), ['a', 'b'])),
      ),
    );
    await hub.publish('a', { data: 'a5' });
    await hub.publish('b', { data: 'b5' });
    const expectedA = ['a1', 'a2', 'a3', 'a4', 'a5'].filter((data) => !seen.includes(data));
    await Promise.all(
      storm.map((connection) =>
        connection.until(
          () => connection.of('a').length === expectedA.length && connection.of('b').length === 3,
        ),
      ),
    );
    for (const connection of storm) {
      expect(connection.of('a').map((event) => event.data)).toEqual(expectedA);
      expect(connection.of('b').map((event) => event.data)).toEqual(['b3', 'b4', 'b5']);
      expect(connection.meta('history-lost')).toEqual([]);
    }
    await Promise.all(storm.map((connection) => connection.cancel()));
    // Per connection and topic: the log's bounds (where the id stands), a replay after it, the
    // bounds again: 400 bounds and 200 replays before the reads were shared (8 to 12 and 4 to 6
    // since, on the three engines).
    expect(counted.bounds() - boundsBefore).toBeLessThanOrEqual(24);
    expect(counted.ranges() - rangesBefore).toBeLessThanOrEqual(12);
  }, 60_000);

  test('history: the last N events of a topic, or those after an id', async () => {
    const [hub, other] = open();
    const ids: string[] = [];
    for (let index = 1; index <= 12; index++) {
      ids.push(await hub.publish('log', { event: 'line', data: { n: index } }));
    }
    expect(await other.history('log', { limit: 3 })).toEqual([
      { id: ids[9], event: 'line', data: '{"n":10}' },
      { id: ids[10], event: 'line', data: '{"n":11}' },
      { id: ids[11], event: 'line', data: '{"n":12}' },
    ]);
    expect((await other.history('log', { after: ids[4]!, limit: 2 })).map((e) => e.id)).toEqual(
      ids.slice(5, 7),
    );
    expect(await other.history('log')).toHaveLength(12);
    expect(await other.history('nothing-here')).toEqual([]);
    await expect(other.history('log', { after: 'nope' })).rejects.toThrow(TypeError);
    await expect(other.history('log', { limit: 0 })).rejects.toThrow(TypeError);
  });

  test('presence: how many connections follow a topic, and who, on every instance', async () => {
    const [hub, other] = open({ presence: { ttlMs: 60_000 } });
    const alice = reader(
      await hub.subscribeMany(request(), ['room', 'lobby'], { member: 'alice' }),
    );
    const bob = reader(await other.subscribe(request(), 'room', { member: 'bob' }));
    const anonymous = reader(await other.subscribeMany(request(), ['room']));
    await alice.until(() => alice.meta('subscribed').length === 1);
    await waitForPresence(hub, 'room', 3);
    expect(await hub.presence('room')).toEqual({ count: 3, members: ['alice', 'bob'] });
    expect(await other.presence('lobby')).toEqual({ count: 1, members: ['alice'] });
    await bob.cancel();
    await alice.cancel();
    // Each topic's presence is written on its own: both are waited for.
    await waitForPresence(other, 'room', 1);
    await waitForPresence(hub, 'lobby', 0);
    expect(await other.presence('room')).toEqual({ count: 1, members: [] });
    expect(await hub.presence('lobby')).toEqual({ count: 0, members: [] });
    await anonymous.cancel();
    const off = createHub({ engine: createMemoryEngine() });
    await expect(off.presence('room')).rejects.toThrow(/presence: true/);
    await off.close();
  });
});

async function waitForPresence(hub: Hub, topic: string, count: number): Promise<void> {
  let seen = -1;
  const started = Date.now();
  while (seen !== count) {
    seen = (await hub.presence(topic)).count;
    if (Date.now() - started > 20_000) throw new Error(`presence stayed at ${seen}, not ${count}`);
    if (seen !== count) await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
