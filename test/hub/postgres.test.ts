/**
 * What the PostgreSQL engine does beyond the shared conformance suite (test/hub/engines.test.ts):
 * two hubs on one database (a run started on A, resumed on B, cancelled from B), large events
 * and bursts through notifications that carry keys only, a LISTEN connection killed under a
 * tail, the setup made once by instances starting together, the sweep, and its options.
 */
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { fetchEventStream, type ServerSentEvent } from '../../src/client/index.ts';
import { createHub, type Hub, type HubEngine, type LogEntry } from '../../src/hub/index.ts';
import {
  createPostgresEngine,
  type PgPoolLike,
  postgresSetupStatements,
} from '../../src/hub/postgres.ts';
import { startPostgres, type TestPostgres } from '../helpers/postgres.ts';

let postgres: TestPostgres;
beforeAll(async () => {
  postgres = await startPostgres();
});
afterAll(async () => {
  await postgres.stop();
});

const closing: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const item of closing.splice(0).reverse()) await item.close();
});

function engineOn(schema: string, pool: PgPoolLike = postgres.pool()): HubEngine {
  const engine = createPostgresEngine({ pool, schema, retryDelayMs: 20 });
  closing.push(engine);
  return engine;
}

function hubOn(engine: HubEngine): Hub {
  const hub = createHub({ engine, onError: () => {} });
  closing.push(hub);
  return hub;
}

function until(check: () => boolean, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = () => {
      if (check()) resolve();
      else if (Date.now() - started > 10_000) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(poll, 5);
    };
    poll();
  });
}

const numbers = (count: number) => Array.from({ length: count }, (_, index) => String(index + 1));

describe('two hubs on one database', () => {
  test('a run started on A resumes on B, exactly once; a cancel from B stops the producer on A', async () => {
    const schema = postgres.schema();
    const a = hubOn(engineOn(schema));
    const b = hubOn(engineOn(schema));
    let sent = 0;
    let abortedOnA: unknown;
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const producer = async (run: {
      send(event: { data: string }): Promise<unknown>;
      signal: AbortSignal;
    }) => {
      for (let index = 1; index <= 5; index++) await run.send({ data: String(++sent) });
      await gate; // B resumes while A's producer is alive and waiting
      run.signal.addEventListener('abort', () => (abortedOnA = run.signal.reason));
      for (;;) {
        await run.send({ data: String(++sent) });
        await new Promise((resolve) => setTimeout(resolve, 10));
        run.signal.throwIfAborted(); // a cancel ends the run with done {"cancelled":true}
      }
    };

    // The first response, on A: read three events, then the connection drops.
    const first: ServerSentEvent[] = [];
    for await (const event of fetchEventStream('http://a.test/run', {
      method: 'POST',
      fetch: async (input, init) => a.stream(new Request(input, init), producer),
    })) {
      first.push(event);
      if (first.length === 3) break; // the client goes away; the run goes on, detached
    }
    expect(first.map((event) => event.data)).toEqual(['1', '2', '3']);
    const runId = a.runIdOf(first[2]!.id)!;

    // The resume, on B, from the last id received: replay, then live.
    const rest: ServerSentEvent[] = [];
    const closes: unknown[] = [];
    const resumed = (async () => {
      for await (const event of fetchEventStream('http://b.test/run', {
        method: 'POST',
        lastEventId: first[2]!.id,
        onClose: (info) => closes.push(info),
        fetch: async (input, init) =>
          b.stream(new Request(input, init), () => {
            throw new Error('a resume never starts the producer again');
          }),
      }))
        rest.push(event);
    })();
    await until(() => rest.length >= 2, 'the replay on B');
    open();
    await until(() => rest.length >= 10, 'live events on B');
    expect(await b.cancel(runId)).toBe(true);
    await resumed;

    const data = rest.map((event) => event.data);
    expect(data).toEqual(numbers(data.length + 3).slice(3)); // 4, 5, ...: no gap, no duplicate
    expect(rest.map((event) => event.id)).toEqual(rest.map((_, index) => `${runId}.${index + 4}`));
    expect(closes).toEqual([
      {
        reason: 'done',
        event: { type: 'done', data: '{"cancelled":true}', id: `${runId}.${rest.length + 4}` },
      },
    ]);
    await until(() => abortedOnA !== undefined, "the producer's abort on A");
    expect((abortedOnA as { code?: string }).code).toBe('run-cancelled');
  });
});

describe('the PostgreSQL engine', () => {
  test('large events and a burst: notifications carry keys, readers fetch the rows', async () => {
    const schema = postgres.schema();
    const writer = engineOn(schema, postgres.pool({ options: '-c synchronous_commit=off' }));
    const reader = engineOn(schema);
    const received: LogEntry[] = [];
    const tail = reader.tail('topic:big', (entry) => received.push(entry));
    await tail.ready;
    const large = 'x'.repeat(1_000_000); // past NOTIFY's 8000-byte payload limit, by far
    await writer.append('topic:big', { event: 'large', data: large });
    // A burst of concurrent appends: one notification each, one fetch per wake for the reader.
    const ids = await Promise.all(numbers(500).map((data) => writer.append('topic:big', { data })));
    await until(() => received.length === 501, 'every entry');
    tail.close();
    expect(received[0]!.event).toEqual({ event: 'large', data: large });
    expect(received.slice(1).map((entry) => entry.event.data)).toEqual(numbers(500));
    expect(received.slice(1).map((entry) => entry.id)).toEqual(ids);
  });

  test('a tail whose LISTEN connection is killed reconnects and misses nothing', async () => {
    const schema = postgres.schema();
    const writer = engineOn(schema);
    const reader = engineOn(schema);
    const received: string[] = [];
    const errors: unknown[] = [];
    const tail = reader.tail(
      'topic:cut',
      (entry) => received.push(entry.event.data!),
      (error) => errors.push(error),
    );
    await tail.ready;
    await writer.append('topic:cut', { data: '1' });
    await until(() => received.length === 1, 'the first entry');
    // Kill the reader's LISTEN connection, then append while it is down.
    const admin = new pg.Client({ connectionString: postgres.url });
    await admin.connect();
    const killed = await admin.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
       WHERE query = 'LISTEN "${schema}"' AND pid <> pg_backend_pid()`,
    );
    await admin.end();
    expect(killed.rowCount).toBeGreaterThanOrEqual(1);
    for (let index = 2; index <= 50; index++)
      await writer.append('topic:cut', { data: String(index) });
    await until(() => received.length === 50, 'the entries appended while it reconnected');
    expect(received).toEqual(numbers(50));
    expect(errors.length).toBeGreaterThanOrEqual(1);
    tail.close();
  });

  test('a reply lost after the commit: the retry returns the stored id and stores nothing twice', async () => {
    const real = postgres.pool();
    let lose = 0;
    // The statement runs, then the connection "drops" before the reply arrives.
    const pool: PgPoolLike = {
      query: async (text: string, values?: unknown[]) => {
        const result = await real.query(text, values);
        if (lose > 0 && text.includes('.append(')) {
          lose--;
          throw new Error('Connection terminated unexpectedly');
        }
        return result;
      },
      connect: () => real.connect(),
      on: (event, listener) => real.on(event, listener),
    };
    const engine = engineOn(postgres.schema(), pool);
    lose = 1;
    const assigned = await engine.append('topic:lost-reply', { data: 'a' });
    lose = 1;
    expect(await engine.append('run:x:log', { data: 'b' }, { id: '0-1' })).toBe('0-1');
    expect(await engine.range('topic:lost-reply', undefined, 10)).toEqual([
      { id: assigned, event: { data: 'a' } },
    ]);
    expect(await engine.range('run:x:log', undefined, 10)).toEqual([
      { id: '0-1', event: { data: 'b' } },
    ]);
  });

  test('instances starting together set the schema up once, without colliding', async () => {
    const schema = postgres.schema();
    const engines = Array.from({ length: 6 }, () => engineOn(schema, postgres.pool({ max: 2 })));
    await Promise.all(engines.map((engine, index) => engine.setValue(`v${index}`, 'x', 60_000)));
    const values = await Promise.all(engines.map((engine, index) => engine.getValue(`v${index}`)));
    expect(values).toEqual(engines.map(() => 'x'));
  });

  test('createTables: false uses tables a migration made (postgresSetupStatements)', async () => {
    const schema = postgres.schema();
    const pool = postgres.pool();
    const engine = engineOn(schema, pool);
    const missing = createPostgresEngine({ pool, schema, createTables: false });
    closing.push(missing);
    await expect(missing.getValue('x')).rejects.toMatchObject({ code: 'engine-error' });
    for (const statement of postgresSetupStatements(schema)) await pool.query(statement);
    await missing.setValue('x', '1', 60_000);
    expect(await engine.getValue('x')).toBe('1');
  });

  test('a schema set up by an earlier version (no append_n): appends use append, tails fetch, nothing is lost', async () => {
    const schema = postgres.schema();
    const pool = postgres.pool();
    for (const statement of postgresSetupStatements(schema)) {
      if (!statement.includes('.append_n(')) await pool.query(statement);
    }
    const engine = createPostgresEngine({ pool, schema, createTables: false });
    const other = createPostgresEngine({ pool: postgres.pool(), schema, createTables: false });
    closing.push(engine, other);
    const received: string[] = [];
    const tail = engine.tail('topic:old', (entry) => received.push(entry.event.data!));
    await tail.ready;
    for (let index = 1; index <= 20; index++)
      await (index % 2 ? engine : other).append('topic:old', { data: String(index) });
    await until(() => received.length === 20, 'every entry');
    expect(received).toEqual(numbers(20));
    const functions = await pool.query(
      `SELECT proname FROM pg_proc WHERE pronamespace = $1::regnamespace ORDER BY proname`,
      [schema],
    );
    expect(functions.rows.map((row) => row.proname)).not.toContain('append_n');
    tail.close();
  });

  test('the sweep deletes expired logs (their entries with them) and values', async () => {
    const schema = postgres.schema();
    const pool = postgres.pool();
    const engine = createPostgresEngine({ pool, schema, sweepIntervalMs: 20 });
    closing.push(engine);
    await engine.append('run:a:log', { data: 'x' }, { id: '0-1', ttlMs: 30 });
    await engine.append('run:b:log', { data: 'y' }, { id: '0-1', ttlMs: 60_000 });
    await engine.setValue('gone', '1', 30);
    await engine.setValue('kept', '1', 60_000);
    const count = async (table: string) =>
      Number((await pool.query(`SELECT count(*) AS n FROM "${schema}".${table}`)).rows[0].n);
    await expectEventually(async () => (await count('logs')) === 1 && (await count('kv')) === 1);
    expect(await count('entries')).toBe(1);
    expect(await engine.range('run:b:log', undefined, 10)).toEqual([
      { id: '0-1', event: { data: 'y' } },
    ]);
  });

  test('engines that come and go on one pool leave no listener on it', async () => {
    const schema = postgres.schema();
    const pool = postgres.pool();
    const before = pool.listenerCount('error');
    for (let index = 0; index < 12; index++) {
      const engine = createPostgresEngine({ pool, schema });
      await engine.append('k', { data: String(index) });
      expect(pool.listenerCount('error')).toBe(before + 1);
      await engine.close();
      expect(pool.listenerCount('error')).toBe(before);
    }
    const { rows } = await pool.query(`SELECT count(*) AS n FROM "${schema}".entries`);
    expect(rows[0].n).toBe('12');
  });

  test('construction does nothing; a bad schema name is a TypeError that says what fits', async () => {
    let queries = 0;
    const pool: PgPoolLike = {
      query: async () => {
        queries++;
        return { rows: [] };
      },
      connect: async () => {
        throw new Error('not connected');
      },
      on: () => {},
    };
    createPostgresEngine({ pool });
    expect(queries).toBe(0);
    expect(() => createPostgresEngine({ pool, schema: 'My-Schema' })).toThrow(
      /schema must be a lower-case PostgreSQL name .* got "My-Schema"/,
    );
    expect(() => postgresSetupStatements('a"; DROP TABLE x; --')).toThrow(TypeError);
  });
});

async function expectEventually(check: () => Promise<boolean>): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > 10_000) throw new Error('condition not reached within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
