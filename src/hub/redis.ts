/**
 * ssekit/hub/redis: the hub on Redis Streams, for several instances (serverless functions,
 * replicas behind a load balancer). Logs are streams (`XADD` with approximate `MAXLEN`, `XRANGE`
 * for replay, `XREAD BLOCK` for live tails), values are keys with TTLs, cancels travel over
 * pub/sub.
 *
 * The client is typed structurally ({@link RedisClientLike}): ioredis fits as is, and any client
 * with a generic command call, `duplicate()` and pub/sub can be adapted in a few lines. ioredis is
 * the one we test with, an optional peer dependency: it reconnects by itself, queues commands
 * while offline, and duplicates connections for blocking reads.
 *
 * @module
 */
import { EngineError } from '../errors.ts';
import {
  type AppendOptions,
  compareIds,
  type HubEngine,
  type LogEntry,
  type LogTail,
  type StoredEvent,
  tailGapError,
} from './engine.ts';

/** The Redis client surface the engine uses (ioredis has it as is). */
export interface RedisClientLike {
  /** Sends any command, e.g. `call('XADD', key, '*', 'data', 'x')`. */
  call(command: string, ...args: Array<string | number>): Promise<unknown>;
  /** A new connection with the same options, for blocking reads and subscriptions. */
  duplicate(): RedisClientLike;
  subscribe(...channels: string[]): Promise<unknown>;
  on(event: 'message', listener: (channel: string, message: string) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  /** Closes the connection at once (aborting a blocked command). */
  disconnect(): void;
  /**
   * Commands sent together, to one node (ioredis routes a cluster pipeline by its keys): needed
   * only with {@link RedisEngineOptions.replicas}, to send `WAIT` where the append went.
   */
  pipeline?(): RedisPipelineLike;
}

/** A pipeline (ioredis' `Pipeline` has it as is). */
export interface RedisPipelineLike {
  call(command: string, ...args: Array<string | number>): RedisPipelineLike;
  exec(): Promise<Array<[Error | null, unknown]> | null>;
}

/** Options of {@link createRedisEngine}. */
export interface RedisEngineOptions {
  /** A connected client (ioredis). The engine duplicates it for tails and cancels. */
  redis: RedisClientLike;
  /**
   * Prefix of every key and channel, to share a Redis between applications.
   * @default 'ssekit:'
   */
  prefix?: string;
  /**
   * How long one `XREAD BLOCK` waits before it is issued again.
   * @default 5_000
   */
  blockMs?: number;
  /**
   * The delay before a failed tail read (Redis restarting, say) is retried; it doubles up to 2 s
   * (a reader waits at most that long after Redis is back; a flapping connection must not push a
   * tail's retries out to minutes).
   * @default 100
   */
  retryDelayMs?: number;
  /**
   * Replicas that must hold an append before it is acknowledged (`WAIT`), so that a failover
   * (a replica promoted after its master died) loses nothing a `send` or `publish` resolved for.
   * Redis replicates asynchronously: without it, the last writes before a master's death may be
   * lost. Costs one round trip and the replication delay per append. The client needs
   * `pipeline()` (ioredis, standalone or `Cluster`).
   * @default 0
   */
  replicas?: number;
  /**
   * How long an append waits for its `replicas`; past it, the append rejects with an
   * `EngineError` (the entry is on the master, not yet on enough replicas).
   * @default 1_000
   */
  replicaTimeoutMs?: number;
}

/**
 * Creates the Redis Streams engine.
 *
 * @example
 * ```ts
 * import Redis from 'ioredis';
 * import { createHub } from 'ssekit/hub';
 * import { createRedisEngine } from 'ssekit/hub/redis';
 *
 * const hub = createHub({ engine: createRedisEngine({ redis: new Redis(process.env.REDIS_URL!) }) });
 * ```
 */
export function createRedisEngine(options: RedisEngineOptions): HubEngine {
  const { redis } = options;
  const prefix = options.prefix ?? 'ssekit:';
  const blockMs = options.blockMs ?? 5_000;
  const retryDelayMs = options.retryDelayMs ?? 100;
  const replicas = options.replicas ?? 0;
  const replicaTimeoutMs = options.replicaTimeoutMs ?? 1_000;
  if (!Number.isInteger(replicas) || replicas < 0) {
    throw new TypeError(`replicas must be a whole number of replicas, got ${replicas}.`);
  }
  if (replicas > 0 && typeof redis.pipeline !== 'function') {
    throw new TypeError(
      `replicas (${replicas}) needs a client with pipeline() (ioredis has it), to send WAIT to the node of each append.`,
    );
  }
  const cancelChannel = `${prefix}cancel`;
  // A log's keys (its stream, its publish tokens) carry the log's key as a hash tag, so on a
  // Redis Cluster they share a slot and the append script touches one node. Both keys start with
  // the same `<prefix>{<key>`, so their tags are equal even when the key holds `{` or `}`.
  const logKey = (key: string) => `${prefix}{${key}}`;
  const cancelListeners = new Set<(runId: string) => void>();
  const tails = new Map<string, SharedTail>();
  let subscriber: RedisClientLike | undefined;

  const command = async (name: string, ...args: Array<string | number>): Promise<unknown> => {
    try {
      return await redis.call(name, ...args);
    } catch (cause) {
      throw engineError(name, cause);
    }
  };

  // An append with an id Redis assigns, made idempotent: a random token travels with it, and the
  // script records token -> id for a while, so a re-sent command (the first reply lost with the
  // connection) returns the first id instead of adding the entry twice. One round trip, trims
  // included.
  let scriptSha: string | undefined;
  const appendAssigned = async (
    streamKey: string,
    event: StoredEvent,
    append: AppendOptions,
  ): Promise<string> => {
    const args = [
      2,
      streamKey,
      `${streamKey}:append:${randomToken()}`,
      APPEND_TOKEN_TTL_MS,
      append.maxLen ?? '',
      append.maxAgeMs === undefined ? '' : Math.max(0, Date.now() - append.maxAgeMs),
      append.ttlMs === undefined ? '' : Math.ceil(append.ttlMs),
      ...eventFields(event),
    ];
    try {
      scriptSha ??= String(await redis.call('SCRIPT', 'LOAD', APPEND_SCRIPT));
      return String(await redis.call('EVALSHA', scriptSha, ...args));
    } catch (cause) {
      if (!String(cause instanceof Error ? cause.message : cause).includes('NOSCRIPT')) {
        throw engineError('XADD', cause);
      }
      // Redis restarted (or its script cache was flushed): EVAL sends the script and caches it.
      return String(await command('EVAL', APPEND_SCRIPT, ...args));
    }
  };

  // WAIT in a pipeline with a command on the log's key: on a cluster, ioredis sends both to the
  // node that serves the key, the one the append went to, over the connection it used.
  const replicated = async (streamKey: string, id: string): Promise<string> => {
    if (replicas === 0) return id;
    let reply: Array<[Error | null, unknown]> | null;
    try {
      reply = await redis.pipeline!()
        .call('EXISTS', streamKey)
        .call('WAIT', replicas, replicaTimeoutMs)
        .exec();
    } catch (cause) {
      throw engineError('WAIT', cause);
    }
    const [error, acknowledged] = reply?.[1] ?? [new Error('no reply'), 0];
    if (error) throw engineError('WAIT', error);
    if (Number(acknowledged) < replicas) {
      throw new EngineError(
        `Redis WAIT: the append ${id} of ${streamKey} reached ${acknowledged} of ${replicas} replicas within ${replicaTimeoutMs} ms.`,
      );
    }
    return id;
  };

  const ensureSubscriber = () => {
    if (subscriber) return;
    subscriber = redis.duplicate();
    subscriber.on('error', () => {
      // ioredis reconnects and resubscribes by itself; the error is only its retry report.
    });
    subscriber.on('message', (channel, message) => {
      if (channel === cancelChannel) for (const listener of cancelListeners) listener(message);
    });
    // Rejects when the engine is closed before the subscription is made ("Connection is
    // closed"): nothing to report then, and ioredis resubscribes by itself after a reconnect.
    subscriber.subscribe(cancelChannel).catch(() => {});
  };

  return {
    async append(key: string, event: StoredEvent, append: AppendOptions = {}): Promise<string> {
      const streamKey = logKey(key);
      if (append.id === undefined)
        return replicated(streamKey, await appendAssigned(streamKey, event, append));
      const fields = eventFields(event);
      try {
        await redis.call('XADD', streamKey, append.id, ...fields);
      } catch (cause) {
        // A re-sent XADD (the reply to the first was lost with the connection, and the client
        // sent it again after reconnecting) finds its own entry there: that is a success.
        if (!TOO_SMALL.test(cause instanceof Error ? cause.message : String(cause))) {
          throw engineError('XADD', cause);
        }
        const stored = parseEntries(await command('XRANGE', streamKey, append.id, append.id))[0];
        if (!stored || !sameEvent(stored.event, event)) {
          throw new EngineError(
            `append: the id ${append.id} of ${key} is taken by another entry${stored ? '' : ' (or is below the last id)'}.`,
            { code: 'append-conflict', cause },
          );
        }
      }
      if (append.ttlMs !== undefined) await command('PEXPIRE', streamKey, Math.ceil(append.ttlMs));
      return replicated(streamKey, append.id);
    },
    async range(key: string, after: string | undefined, count: number): Promise<LogEntry[]> {
      const start = after === undefined ? '-' : `(${after}`;
      return parseEntries(await command('XRANGE', logKey(key), start, '+', 'COUNT', count));
    },
    async bounds(key: string) {
      const first = parseEntries(await command('XRANGE', logKey(key), '-', '+', 'COUNT', 1))[0];
      const last = parseEntries(await command('XREVRANGE', logKey(key), '+', '-', 'COUNT', 1))[0];
      return first && last ? { first: first.id, last: last.id } : undefined;
    },
    tail(
      key: string,
      listener: (entry: LogEntry) => void,
      onError?: (error: unknown) => void,
    ): LogTail {
      let shared = tails.get(key);
      if (!shared) {
        shared = new SharedTail(logKey(key), redis, blockMs, retryDelayMs, () => tails.delete(key));
        tails.set(key, shared);
      }
      return shared.add(listener, onError);
    },
    async setValue(key: string, value: string, ttlMs: number): Promise<void> {
      await command('SET', prefix + key, value, 'PX', Math.ceil(ttlMs));
    },
    async getValue(key: string): Promise<string | undefined> {
      const value = await command('GET', prefix + key);
      return value === null || value === undefined ? undefined : String(value);
    },
    async publishCancel(runId: string): Promise<void> {
      await command('PUBLISH', cancelChannel, runId);
    },
    onCancel(listener: (runId: string) => void): () => void {
      ensureSubscriber();
      cancelListeners.add(listener);
      return () => cancelListeners.delete(listener);
    },
    async close(): Promise<void> {
      for (const tail of tails.values()) tail.stop();
      tails.clear();
      subscriber?.disconnect();
      subscriber = undefined;
      cancelListeners.clear();
    },
  };
}

/**
 * One blocking reader per log and process, shared by every local listener: 5000 subscribers of a
 * topic on one instance cost one Redis connection, not 5000.
 */
class SharedTail {
  readonly #key: string;
  readonly #redis: RedisClientLike;
  readonly #blockMs: number;
  readonly #retryDelayMs: number;
  readonly #onIdle: () => void;
  readonly #listeners = new Map<
    (entry: LogEntry) => void,
    ((error: unknown) => void) | undefined
  >();
  #connection: RedisClientLike | undefined;
  #ready: Promise<void> | undefined;
  #stopped = false;

  constructor(
    key: string,
    redis: RedisClientLike,
    blockMs: number,
    retryDelayMs: number,
    onIdle: () => void,
  ) {
    this.#key = key;
    this.#redis = redis;
    this.#blockMs = blockMs;
    this.#retryDelayMs = retryDelayMs;
    this.#onIdle = onIdle;
  }

  add(
    listener: (entry: LogEntry) => void,
    onError: ((error: unknown) => void) | undefined,
  ): LogTail {
    this.#listeners.set(listener, onError);
    if (this.#ready === undefined) {
      this.#ready = this.#start();
      // Its listeners await it (and see the failure); a tail closed before it settled has none.
      this.#ready.catch(() => {});
    }
    return {
      ready: this.#ready,
      close: () => {
        this.#listeners.delete(listener);
        if (this.#listeners.size === 0) {
          this.stop();
          this.#onIdle();
        }
      },
    };
  }

  stop(): void {
    this.#stopped = true;
    this.#connection?.disconnect(); // aborts a blocked XREAD at once
    this.#connection = undefined;
  }

  // The starting point is read before `ready` resolves, so nothing appended after it is missed.
  async #start(): Promise<void> {
    const last = parseOrdinalEntries(
      await this.#redis.call('XREVRANGE', this.#key, '+', '-', 'COUNT', 1),
    )[0];
    // Closed meanwhile: no connection of its own (stop() had none to close, it would stay open).
    if (this.#stopped) return;
    this.#connection = this.#redis.duplicate();
    this.#connection.on('error', () => {
      // Reported through the failed XREAD below, with the retry.
    });
    void this.#loop(last?.entry.id ?? '0-0', last ? last.n : 0);
  }

  async #loop(from: string, fromN: number | undefined): Promise<void> {
    let cursor = from;
    // The ordinal of the entry at the cursor (see APPEND_SCRIPT); undefined when unknown (an
    // entry with an explicit id, or stored by an earlier version, has none).
    let n = fromN;
    let delay = this.#retryDelayMs;
    while (!this.#stopped) {
      const connection = this.#connection;
      if (!connection) return;
      try {
        const reply = await connection.call(
          'XREAD',
          'COUNT',
          512,
          'BLOCK',
          this.#blockMs,
          'STREAMS',
          this.#key,
          cursor,
        );
        delay = this.#retryDelayMs;
        for (const { entry, n: next } of parseXRead(reply)) {
          if (compareIds(entry.id, cursor) <= 0) continue;
          // Ordinals go up by one per append: a jump means retention trimmed the entries in
          // between before this read (the tail fell behind). A smaller one is a new log (the
          // old one expired). Reported before the entry, never skipped silently.
          if (n !== undefined && next !== undefined && next > n + 1) {
            const gap = tailGapError('Redis', this.#key, cursor, entry.id);
            for (const onError of this.#listeners.values()) onError?.(gap);
          }
          cursor = entry.id;
          n = next;
          for (const listener of this.#listeners.keys()) listener(entry);
        }
      } catch (cause) {
        if (this.#stopped) return;
        const error = new EngineError(
          `Redis tail of ${this.#key} failed, retrying in ${delay} ms: ${cause instanceof Error ? cause.message : String(cause)}`,
          { cause },
        );
        for (const onError of this.#listeners.values()) onError?.(error);
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(delay * 2, MAX_RETRY_DELAY_MS);
      }
    }
  }
}

/** The longest wait between two tries of a failed tail read. */
const MAX_RETRY_DELAY_MS = 2_000;

/** Redis' answer to an explicit `XADD` id at or below the stream's last id. */
const TOO_SMALL = /equal or smaller than the target stream top item/i;

/** How long a publish token is kept: longer than any client keeps a command to re-send. */
const APPEND_TOKEN_TTL_MS = 120_000;

// KEYS: the stream, the token. ARGV: token TTL, MAXLEN ('' for none), MINID (''), PEXPIRE (''),
// then the entry's field/value pairs. MINID is exact, not `~`: approximate trimming only drops
// whole stream nodes (100 entries), so a quiet topic would keep entries far past their age; it
// never trims the new entry (a client clock ahead of Redis' could ask for that).
// Each entry gets field `n`, its ordinal (the last entry's plus one; the stream is never trimmed
// empty, so the count goes on): a tail that reads `n + 2` after `n` knows retention trimmed an
// entry before it read it, and reports the gap.
const APPEND_SCRIPT = `
local seen = redis.call('GET', KEYS[2])
if seen then return seen end
local n = 1
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)[1]
if last then
  local fields = last[2]
  for index = 1, #fields, 2 do
    if fields[index] == 'n' then n = tonumber(fields[index + 1]) + 1 end
  end
end
local args = {KEYS[1]}
if ARGV[2] ~= '' then
  table.insert(args, 'MAXLEN'); table.insert(args, '~'); table.insert(args, ARGV[2])
end
table.insert(args, '*')
for index = 5, #ARGV do table.insert(args, ARGV[index]) end
table.insert(args, 'n'); table.insert(args, n)
local id = redis.call('XADD', unpack(args))
if ARGV[3] ~= '' then
  local minid = ARGV[3]
  if tonumber(minid) > tonumber(string.match(id, '^%d+')) then minid = id end
  redis.call('XTRIM', KEYS[1], 'MINID', minid)
end
if ARGV[4] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[4]) end
redis.call('SET', KEYS[2], id, 'PX', ARGV[1])
return id
`;

function engineError(name: string, cause: unknown): EngineError {
  return new EngineError(
    `Redis ${name} failed: ${cause instanceof Error ? cause.message : String(cause)}`,
    { cause },
  );
}

// An event without data keeps a field all the same: a stream entry needs at least one.
function eventFields(event: StoredEvent): string[] {
  const fields = event.data === undefined ? ['nodata', '1'] : ['data', event.data];
  if (event.event !== undefined) fields.push('event', event.event);
  return fields;
}

function sameEvent(a: StoredEvent, b: StoredEvent): boolean {
  return a.data === b.data && a.event === b.event;
}

function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  let token = '';
  for (const byte of bytes) token += byte.toString(16).padStart(2, '0');
  return token;
}

type RawEntry = [string, string[]];

function parseEntries(reply: unknown): LogEntry[] {
  if (!Array.isArray(reply)) return [];
  return (reply as RawEntry[]).map(([id, fields]) => ({
    id: String(id),
    event: parseFields(fields),
  }));
}

/** Entries with their ordinal (field `n`, see APPEND_SCRIPT), as a tail reads them. */
interface OrdinalEntry {
  entry: LogEntry;
  n: number | undefined;
}

function parseOrdinalEntries(reply: unknown): OrdinalEntry[] {
  if (!Array.isArray(reply)) return [];
  return (reply as RawEntry[]).map(([id, fields]) => {
    let n: number | undefined;
    for (let index = 0; index + 1 < fields.length; index += 2)
      if (String(fields[index]) === 'n') n = Number(fields[index + 1]);
    return { entry: { id: String(id), event: parseFields(fields) }, n };
  });
}

function parseXRead(reply: unknown): OrdinalEntry[] {
  if (!Array.isArray(reply) || reply.length === 0) return []; // null: the block timed out
  // RESP: [[key, entries]] for the one stream read; some clients unwrap it to [key, entries].
  const stream = (typeof reply[0] === 'string' ? reply : reply[0]) as
    | [string, RawEntry[]]
    | undefined;
  return stream ? parseOrdinalEntries(stream[1]) : [];
}

function parseFields(fields: string[]): StoredEvent {
  const event: StoredEvent = {};
  for (let index = 0; index + 1 < fields.length; index += 2) {
    const name = String(fields[index]);
    const value = String(fields[index + 1]);
    if (name === 'data') event.data = value;
    else if (name === 'event') event.event = value;
  }
  return event;
}
