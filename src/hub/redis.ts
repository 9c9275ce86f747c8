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
   * The delay before a failed tail read (Redis restarting, say) is retried; it doubles up to 30 s.
   * @default 100
   */
  retryDelayMs?: number;
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
  const cancelChannel = `${prefix}cancel`;
  const cancelListeners = new Set<(runId: string) => void>();
  const tails = new Map<string, SharedTail>();
  let subscriber: RedisClientLike | undefined;

  const command = async (name: string, ...args: Array<string | number>): Promise<unknown> => {
    try {
      return await redis.call(name, ...args);
    } catch (cause) {
      throw new EngineError(
        `Redis ${name} failed: ${cause instanceof Error ? cause.message : String(cause)}`,
        {
          cause,
        },
      );
    }
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
    void subscriber.subscribe(cancelChannel);
  };

  return {
    async append(key: string, event: StoredEvent, append: AppendOptions = {}): Promise<string> {
      const streamKey = prefix + key;
      const args: Array<string | number> = [streamKey];
      if (append.maxLen !== undefined) args.push('MAXLEN', '~', append.maxLen);
      args.push(append.id ?? '*');
      // An event without data keeps a field all the same: a stream entry needs at least one.
      if (event.data === undefined) args.push('nodata', '1');
      else args.push('data', event.data);
      if (event.event !== undefined) args.push('event', event.event);
      const id = String(await command('XADD', ...args));
      if (append.maxAgeMs !== undefined) {
        // Exact, not `~`: approximate trimming only drops whole stream nodes (100 entries), so a
        // quiet topic would keep entries far past their age. Exact MINID costs only the removal.
        await command('XTRIM', streamKey, 'MINID', Math.max(0, Date.now() - append.maxAgeMs));
      }
      if (append.ttlMs !== undefined) await command('PEXPIRE', streamKey, Math.ceil(append.ttlMs));
      return id;
    },
    async range(key: string, after: string | undefined, count: number): Promise<LogEntry[]> {
      const start = after === undefined ? '-' : `(${after}`;
      return parseEntries(await command('XRANGE', prefix + key, start, '+', 'COUNT', count));
    },
    async bounds(key: string) {
      const first = parseEntries(await command('XRANGE', prefix + key, '-', '+', 'COUNT', 1))[0];
      const last = parseEntries(await command('XREVRANGE', prefix + key, '+', '-', 'COUNT', 1))[0];
      return first && last ? { first: first.id, last: last.id } : undefined;
    },
    tail(
      key: string,
      listener: (entry: LogEntry) => void,
      onError?: (error: unknown) => void,
    ): LogTail {
      let shared = tails.get(key);
      if (!shared) {
        shared = new SharedTail(prefix + key, redis, blockMs, retryDelayMs, () =>
          tails.delete(key),
        );
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
    this.#ready ??= this.#start();
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
    const last = parseEntries(
      await this.#redis.call('XREVRANGE', this.#key, '+', '-', 'COUNT', 1),
    )[0];
    this.#connection = this.#redis.duplicate();
    this.#connection.on('error', () => {
      // Reported through the failed XREAD below, with the retry.
    });
    void this.#loop(last?.id ?? '0-0');
  }

  async #loop(from: string): Promise<void> {
    let cursor = from;
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
        for (const entry of parseXRead(reply)) {
          if (compareIds(entry.id, cursor) <= 0) continue;
          cursor = entry.id;
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
        delay = Math.min(delay * 2, 30_000);
      }
    }
  }
}

type RawEntry = [string, string[]];

function parseEntries(reply: unknown): LogEntry[] {
  if (!Array.isArray(reply)) return [];
  return (reply as RawEntry[]).map(([id, fields]) => ({
    id: String(id),
    event: parseFields(fields),
  }));
}

function parseXRead(reply: unknown): LogEntry[] {
  if (!Array.isArray(reply) || reply.length === 0) return []; // null: the block timed out
  // RESP: [[key, entries]] for the one stream read; some clients unwrap it to [key, entries].
  const stream = (typeof reply[0] === 'string' ? reply : reply[0]) as
    | [string, RawEntry[]]
    | undefined;
  return stream ? parseEntries(stream[1]) : [];
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
