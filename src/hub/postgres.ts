/**
 * ssekit/hub/postgres: the hub on PostgreSQL, for several instances that share a database and no
 * Redis. Logs are rows of an append-only table with per-log ids, an append is one call of a
 * function that locks its log's row (ids visible in order), `LISTEN`/`NOTIFY` wakes the readers
 * (the payload is the log's key; readers fetch the rows), values are rows with expiries, and
 * cancels travel as notifications.
 *
 * The client is typed structurally ({@link PgPoolLike}): a `pg` `Pool` fits as is, and so do
 * pools with its interface (`@neondatabase/serverless`'s `Pool` over WebSockets, for one).
 *
 * @module
 */
import { unrefTimer } from '../_internal/timers.ts';
import { EngineError } from '../errors.ts';
import {
  Listener,
  type OrdinalEntry,
  type PgPoolClientLike,
  SharedTail,
} from './_postgres-listen.ts';
import { type Queries, queries, SCHEMA_NAME, setupStatements } from './_postgres-sql.ts';
import type { AppendOptions, HubEngine, LogEntry, LogTail, StoredEvent } from './engine.ts';

export type { PgNotification, PgPoolClientLike } from './_postgres-listen.ts';

/** The pool surface the engine uses (`pg`'s `Pool` has it as is). */
export interface PgPoolLike {
  /** Runs one parameterized statement on any connection of the pool. */
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
  /** Checks a connection out, for `LISTEN` (the engine holds one) and the setup transaction. */
  connect(): Promise<PgPoolClientLike>;
  /** The engine listens for idle connections' errors, which a pool without a listener throws. */
  on(event: 'error', listener: (error: Error) => void): unknown;
  /** Removes that listener when the engine closes (the pool may outlive many engines). */
  removeListener?(event: 'error', listener: (error: Error) => void): unknown;
}

/** Options of {@link createPostgresEngine}. */
export interface PostgresEngineOptions {
  /** A `pg` `Pool` (or one with its interface). The engine holds one of its connections. */
  pool: PgPoolLike;
  /**
   * The schema of the engine's tables and functions (`[a-z_][a-z0-9_]*`, at most 48
   * characters); also the name of its NOTIFY channel. Two schemas are two separate hubs.
   * @default 'ssekit'
   */
  schema?: string;
  /**
   * Create the schema, tables and function at first use (idempotent, under an advisory lock, so
   * instances starting together do it once). `false` when a migration tool runs
   * {@link postgresSetupStatements} instead, or the role may not create them.
   * @default true
   */
  createTables?: boolean;
  /**
   * How often expired logs and values are deleted (by whichever instance's timer fires).
   * @default 30_000
   */
  sweepIntervalMs?: number;
  /**
   * How long an operation that lost its connection (PostgreSQL restarting, a failover) is retried
   * before it fails with an `EngineError`. Retries are safe: explicit-id appends are idempotent,
   * assigned-id appends carry a token that a retry finds.
   * @default 10_000
   */
  retryTimeoutMs?: number;
  /**
   * The first delay before a retry (of an operation, a tail's fetch, the LISTEN connection); it
   * doubles up to 2 s.
   * @default 100
   */
  retryDelayMs?: number;
}

/**
 * The statements that create the engine's schema, tables and function, for a migration tool
 * (with `createTables: false`). Idempotent: run them again after upgrading ssekit.
 */
export function postgresSetupStatements(schema = 'ssekit'): string[] {
  checkSchema(schema);
  return setupStatements(schema);
}

/**
 * Creates the PostgreSQL engine. Nothing happens until first use: no connection, no timer.
 *
 * @example
 * ```ts
 * import pg from 'pg';
 * import { createHub } from 'ssekit/hub';
 * import { createPostgresEngine } from 'ssekit/hub/postgres';
 *
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * const hub = createHub({ engine: createPostgresEngine({ pool }) });
 * ```
 */
export function createPostgresEngine(options: PostgresEngineOptions): HubEngine {
  const { pool } = options;
  const schema = options.schema ?? 'ssekit';
  checkSchema(schema);
  const sweepIntervalMs = options.sweepIntervalMs ?? 30_000;
  const retryTimeoutMs = options.retryTimeoutMs ?? 10_000;
  const retryDelayMs = options.retryDelayMs ?? 100;
  const sql: Queries = queries(schema);
  const tails = new Map<string, SharedTail>();
  const cancelListeners = new Set<(runId: string) => void>();
  let setup: Promise<void> | undefined;
  let sweep: ReturnType<typeof setInterval> | undefined;
  let closed = false;

  let started = false;
  const onPoolError = () => {
    // An idle connection of the pool died (PostgreSQL restarted); the pool drops it and the
    // next query opens another. Without a listener, the pool would throw it.
  };
  const ensureSetup = (): Promise<void> => {
    if (!started && !closed) {
      started = true;
      pool.on('error', onPoolError);
      sweep = setInterval(() => {
        void (async () => {
          await pool.query(sql.sweepValues);
          await pool.query(sql.sweepLogs);
        })().catch(() => {
          // The next sweep tries again; expired rows are invisible to every read meanwhile.
        });
      }, sweepIntervalMs);
      unrefTimer(sweep);
    }
    setup ??= (
      options.createTables === false ? Promise.resolve() : createTables(pool, schema)
    ).catch((error: unknown) => {
      setup = undefined;
      throw error;
    });
    return setup;
  };

  /** Runs a statement, retrying through lost connections for up to `retryTimeoutMs`. */
  const query = async (
    name: string,
    text: string,
    values: unknown[],
    onRetry?: () => void,
  ): Promise<Array<Record<string, unknown>>> => {
    const started = Date.now();
    let delay = retryDelayMs;
    for (;;) {
      try {
        await ensureSetup();
        return (await pool.query(text, values)).rows as Array<Record<string, unknown>>;
      } catch (cause) {
        if (closed || !isConnectionError(cause) || Date.now() - started + delay > retryTimeoutMs)
          throw EngineError.isInstance(cause)
            ? cause
            : new EngineError(`PostgreSQL ${name} failed: ${message(cause)}`, { cause });
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(delay * 2, 2_000);
        onRetry?.();
      }
    }
  };

  const listener = new Listener({
    // LISTEN needs no table: a cancel listener is up as soon as it has a connection.
    connect: () => pool.connect(),
    channel: schema,
    retryDelayMs,
    onPayload(payload) {
      if (payload.startsWith('l')) tails.get(payload.slice(1))?.wake();
      else if (payload.startsWith('c'))
        for (const cancel of cancelListeners) cancel(payload.slice(1));
    },
    onState(error) {
      for (const tail of tails.values()) {
        if (error) tail.report(error);
        else tail.wake();
      }
    },
  });

  const fetch = async (key: string, after: string, count: number): Promise<LogEntry[]> => {
    const [ms, seq] = after.split('-');
    return toEntries(await query('SELECT', sql.range, [key, ms, seq, count]));
  };
  const follow = async (key: string, after: string, count: number): Promise<OrdinalEntry[]> => {
    const [ms, seq] = after.split('-');
    const rows = await query('SELECT', sql.follow, [key, ms, seq, count]);
    const entries = toEntries(rows);
    return entries.map((entry, index) => ({ entry, n: Number(rows[index]!.n) }));
  };

  // Appends of this instance to one log go one at a time, in call order: concurrent publishes on
  // a pool of connections would otherwise race for the log's row lock. The lock serializes them
  // in the database anyway; this costs one round trip each, and keeps the order of the calls.
  const appending = new Map<string, Promise<unknown>>();
  const append = (key: string, event: StoredEvent, options: AppendOptions): Promise<string> => {
    const run = () => appendNow(key, event, options);
    const current = (appending.get(key) ?? Promise.resolve()).then(run, run);
    const settled = current.catch(() => {});
    appending.set(key, settled);
    void settled.then(() => {
      if (appending.get(key) === settled) appending.delete(key);
    });
    return current;
  };

  const appendNow = async (
    key: string,
    event: StoredEvent,
    append: AppendOptions,
  ): Promise<string> => {
    const [ms, seq] = append.id === undefined ? [null, null] : append.id.split('-');
    const token = append.id === undefined ? randomToken() : null;
    const values: unknown[] = [
      key,
      ms,
      seq,
      event.event ?? null,
      event.data ?? null,
      append.maxLen ?? null,
      append.maxAgeMs === undefined || append.maxAgeMs === Number.POSITIVE_INFINITY
        ? null
        : Math.floor(append.maxAgeMs),
      append.ttlMs === undefined ? null : Math.ceil(append.ttlMs),
      token,
      null,
    ];
    // A retry after a lost connection: the first attempt may have committed; its token finds it.
    const since = Date.now() - RETRY_LOOKBACK_MS;
    const onRetry = () => {
      if (token !== null) values[9] = since;
    };
    const row = await appendRow(values, onRetry);
    const id = row?.id;
    if (typeof id !== 'string') {
      throw new EngineError(`append: the id ${append.id} of ${key} is taken by another entry.`, {
        code: 'append-conflict',
      });
    }
    // This instance's own tail of the log has it at once, without waiting for the NOTIFY and a
    // fetch, when it is the next entry the tail expects (see SharedTail.appended).
    const tail = tails.get(key);
    if (tail !== undefined && typeof row?.n === 'string')
      tail.appended(entryOf(id, event), Number(row.n));
    return id;
  };

  // S.append_n, which also returns the entry's ordinal; a schema set up by a migration tool for
  // an earlier version has only S.append (undefined_function): then the tail fetches as before.
  let ordinals = true;
  const appendRow = async (
    values: unknown[],
    onRetry: () => void,
  ): Promise<Record<string, unknown> | undefined> => {
    if (ordinals) {
      try {
        return (await query('append', sql.appendOrdinal, values, onRetry))[0];
      } catch (error) {
        if (!(EngineError.isInstance(error) && pgCode(error.cause) === UNDEFINED_FUNCTION))
          throw error;
        ordinals = false;
      }
    }
    return (await query('append', sql.append, values, onRetry))[0];
  };

  return {
    append(key: string, event: StoredEvent, options: AppendOptions = {}): Promise<string> {
      return append(key, event, options);
    },
    async range(key: string, after: string | undefined, count: number): Promise<LogEntry[]> {
      if (after !== undefined) return fetch(key, after, count);
      return toEntries(await query('SELECT', sql.rangeAll, [key, count]));
    },
    async bounds(key: string) {
      const [row] = await query('SELECT', sql.bounds, [key]);
      return typeof row?.first === 'string' && typeof row.last === 'string'
        ? { first: row.first, last: row.last }
        : undefined;
    },
    tail(
      key: string,
      listener_: (entry: LogEntry) => void,
      onError?: (error: unknown) => void,
    ): LogTail {
      let shared = tails.get(key);
      if (!shared) {
        shared = new SharedTail({
          key,
          retryDelayMs,
          listening: () => listener.ready(),
          cursor: async (log) => {
            const [row] = await query('SELECT', sql.cursor, [log]);
            return typeof row?.id === 'string' ? { id: row.id, n: Number(row.n) } : undefined;
          },
          fetch: follow,
          onIdle: () => tails.delete(key),
        });
        tails.set(key, shared);
      }
      return shared.add(listener_, onError);
    },
    async setValue(key: string, value: string, ttlMs: number): Promise<void> {
      await query('setValue', sql.setValue, [key, value, Math.ceil(ttlMs)]);
    },
    async getValue(key: string): Promise<string | undefined> {
      const [row] = await query('getValue', sql.getValue, [key]);
      return typeof row?.value === 'string' ? row.value : undefined;
    },
    async publishCancel(runId: string): Promise<void> {
      await query('NOTIFY', sql.notify, [`c${runId}`]);
    },
    onCancel(cancel: (runId: string) => void): () => void {
      cancelListeners.add(cancel);
      // Reported by the tails' onError meanwhile; a cancel is also recorded as a value.
      listener.ready().catch(() => {});
      return () => cancelListeners.delete(cancel);
    },
    async close(): Promise<void> {
      closed = true;
      if (started) pool.removeListener?.('error', onPoolError);
      if (sweep !== undefined) clearInterval(sweep);
      sweep = undefined;
      for (const tail of tails.values()) tail.stop();
      tails.clear();
      cancelListeners.clear();
      await listener.close();
    },
  };
}

/** The schema's comment once this version's tables and functions are there. */
const SETUP_MARKER = 'ssekit hub engine, tables version 2';

/** SQLSTATE of a call to a function that does not exist. */
const UNDEFINED_FUNCTION = '42883';

function pgCode(error: unknown): unknown {
  return typeof error === 'object' && error !== null
    ? (error as { code?: unknown }).code
    : undefined;
}

/** The entry as stored: absent fields stay absent. */
function entryOf(id: string, event: StoredEvent): LogEntry {
  const stored: StoredEvent = {};
  if (event.event !== undefined) stored.event = event.event;
  if (event.data !== undefined) stored.data = event.data;
  return { id, event: stored };
}

/** How far back a retried assigned-id append looks for its token (clock skew included). */
const RETRY_LOOKBACK_MS = 10 * 60_000;

/**
 * Creates the tables unless this version's are there (one cheap query: the schema's comment
 * names the version). One instance at a time does it, under an advisory lock: concurrent
 * `CREATE … IF NOT EXISTS` can collide.
 */
async function createTables(pool: PgPoolLike, schema: string): Promise<void> {
  const marker = await pool
    .query('SELECT obj_description(oid, $2) AS marker FROM pg_namespace WHERE nspname = $1', [
      schema,
      'pg_namespace',
    ])
    .catch((cause: unknown) => {
      throw new EngineError(`PostgreSQL setup failed: ${message(cause)}`, { cause });
    });
  if ((marker.rows[0] as { marker?: unknown } | undefined)?.marker === SETUP_MARKER) return;
  let client: PgPoolClientLike;
  try {
    client = await pool.connect();
  } catch (cause) {
    throw new EngineError(`PostgreSQL setup failed: ${message(cause)}`, { cause });
  }
  let failure: unknown;
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`ssekit:${schema}`]);
    for (const statement of setupStatements(schema)) await client.query(statement);
    await client.query(`COMMENT ON SCHEMA "${schema}" IS '${SETUP_MARKER}'`);
    await client.query('COMMIT');
  } catch (cause) {
    failure = cause;
    await client.query('ROLLBACK').catch(() => {});
    throw new EngineError(`PostgreSQL setup of schema ${schema} failed: ${message(cause)}`, {
      cause,
    });
  } finally {
    client.release(failure !== undefined);
  }
}

function checkSchema(schema: string): void {
  if (!SCHEMA_NAME.test(schema)) {
    throw new TypeError(
      `schema must be a lower-case PostgreSQL name ([a-z_][a-z0-9_]*, at most 48 characters), got ${JSON.stringify(schema)}.`,
    );
  }
}

function toEntries(rows: Array<Record<string, unknown>>): LogEntry[] {
  return rows.map((row) => {
    const event: StoredEvent = {};
    if (typeof row.event === 'string') event.event = row.event;
    if (typeof row.data === 'string') event.data = row.data;
    return { id: String(row.id), event };
  });
}

/**
 * A failure of the connection rather than of the statement: worth a retry once PostgreSQL is
 * back. SQLSTATE classes 08 (connection exception) and 57P (shutting down, starting up), and the
 * socket errors of the client, which carry no SQLSTATE.
 */
function isConnectionError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  if (EngineError.isInstance(error)) return isConnectionError(error.cause); // setup's failure
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && /^(08|57P)/.test(code)) return true;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return true; // ECONNREFUSED, ECONNRESET
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(
    message(error),
  );
}

function message(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}

function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  let token = '';
  for (const byte of bytes) token += byte.toString(16).padStart(2, '0');
  return token;
}
