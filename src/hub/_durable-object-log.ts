/**
 * The Durable Object behind ssekit/hub/durable-object: one object per log or value (or the
 * cancel channel), addressed by name. A Durable Object runs one instance at a time and, while it
 * awaits its own storage, takes no other event (its input gate): each append reads the log's
 * state, checks or assigns the id, writes the entry and trims, with nothing in between, so ids
 * are assigned and become visible in order. Its answers wait until its writes are durable (its
 * output gate): an acknowledged append is stored.
 *
 * Only the storage's key-value API is used (get, put, list, delete, alarms): it exists on
 * SQLite-backed objects (`new_sqlite_classes`) and on the older key-value ones (`new_classes`).
 * @internal
 */
import {
  ENTRY_PREFIX,
  encodeLine,
  entryKey,
  idOfKey,
  type TailLine,
  type WireEntry,
} from './_durable-object-wire.ts';

/** The storage of a Durable Object, as the object uses it (`ctx.storage` has it as is). */
export interface DurableObjectStorageLike {
  get<T = unknown>(key: string): Promise<T | undefined>;
  put<T>(entries: Record<string, T>): Promise<void>;
  delete(keys: string[]): Promise<number>;
  list<T = unknown>(options: {
    prefix?: string;
    startAfter?: string;
    end?: string;
    limit?: number;
  }): Promise<Map<string, T>>;
  setAlarm(scheduledTime: number): Promise<void>;
  deleteAlarm(): Promise<void>;
}

/** The state a Durable Object's constructor receives (`ctx`), as the object uses it. */
export interface DurableObjectStateLike {
  readonly storage: DurableObjectStorageLike;
  blockConcurrencyWhile<T>(callback: () => Promise<T>): Promise<T>;
}

/** A log's own record (key `meta`). */
interface LogMeta {
  /** The storage key of the newest and of the oldest entry (none when empty). */
  lastKey?: string;
  firstKey?: string;
  /** Where assigned ids go on: the last one's `ms` and `seq`. */
  lastMs: number;
  lastSeq: number;
  count: number;
  /** When the log expires (its last append's `ttlMs`). */
  expiresAt?: number;
  /** The last append's `maxAgeMs`, for the alarm that trims by age between appends. */
  maxAgeMs?: number;
}

interface StoredValue {
  value: string;
  expiresAt: number;
}

interface AppendBody {
  id?: string;
  e?: string;
  d?: string;
  maxLen?: number;
  maxAgeMs?: number;
  ttlMs?: number;
}

const EMPTY: LogMeta = { lastMs: 0, lastSeq: 0, count: 0 };
/** Keys the storage takes in one `delete` or `put` call. */
const BATCH = 128;
/** A tail whose reader took nothing for this many lines is dropped (it resumes from its cursor). */
const TAIL_BACKLOG = 10_000;
/** While tails hold an expired log, the alarm looks again this much later. */
const HELD_RETRY_MS = 60_000;

/** A stream of lines to one reader (a tail, a cancel listener). */
type Reader = ReadableStreamDefaultController<Uint8Array>;

/**
 * The Durable Object class of the hub's engine: export it from your Worker's main module and
 * bind it (see {@link createDurableObjectEngine} and docs/hub.md for the wrangler config). Each
 * object holds one log, one value or the cancel channel; the engine addresses them by name.
 *
 * @example
 * ```ts
 * // src/index.ts, the Worker's main module
 * export { HubObject } from 'ssekit/hub/durable-object';
 * ```
 */
export class HubObject {
  readonly #storage: DurableObjectStorageLike;
  #meta: LogMeta = EMPTY;
  #value: StoredValue | undefined;
  #alarmAt: number | undefined;
  readonly #tails = new Set<Reader>();
  readonly #cancels = new Set<Reader>();

  /** Called by the runtime: `state` is the object's `ctx`. */
  constructor(state: DurableObjectStateLike, _env?: unknown) {
    this.#storage = state.storage;
    void state.blockConcurrencyWhile(async () => {
      this.#meta = (await this.#storage.get<LogMeta>('meta')) ?? EMPTY;
      this.#value = await this.#storage.get<StoredValue>('value');
    });
  }

  /** Answers one call of the engine: `POST /append`, `GET /range`, and so on. */
  async fetch(request: Request): Promise<Response> {
    try {
      return await this.#answer(request);
    } catch (error) {
      // The engine turns it into an EngineError that names the operation.
      const message = error instanceof Error ? error.message : String(error);
      return Response.json({ error: message }, { status: 500 });
    }
  }

  async #answer(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const query = url.searchParams;
    const body =
      request.method === 'POST' ? ((await request.json()) as Record<string, unknown>) : {};
    switch (url.pathname) {
      case '/append':
        return this.#append(body as AppendBody);
      case '/range':
        return Response.json(
          await this.#range(query.get('after') ?? undefined, Number(query.get('count') ?? 1)),
        );
      case '/bounds':
        return Response.json(this.#bounds());
      case '/tail':
        return this.#tail(query.get('after') ?? undefined);
      case '/value/set':
        return this.#setValue(String(body.value), Number(body.ttlMs));
      case '/value/get':
        return Response.json({ value: this.#liveValue()?.value ?? null });
      case '/cancel':
        for (const reader of this.#cancels) this.#send(reader, this.#cancels, String(body.runId));
        return Response.json({ listeners: this.#cancels.size });
      case '/cancels':
        return this.#open(this.#cancels, ['ready']);
      default:
        return Response.json({ error: `no such call: ${url.pathname}` }, { status: 404 });
    }
  }

  /** Expiries: the log after its `ttlMs`, the value after its TTL, entries past `maxAgeMs`. */
  async alarm(): Promise<void> {
    this.#alarmAt = undefined;
    const now = Date.now();
    if (this.#value && this.#value.expiresAt <= now) {
      this.#value = undefined;
      await this.#storage.delete(['value']);
    }
    if (this.#expired(now) && this.#tails.size === 0) await this.#clear();
    else if (this.#meta.maxAgeMs !== undefined) await this.#trimAge(now - this.#meta.maxAgeMs);
    this.#schedule(now);
  }

  async #append(append: AppendBody): Promise<Response> {
    const now = Date.now();
    if (this.#expired(now)) await this.#clear();
    const meta = { ...this.#meta };
    let key: string;
    if (append.id !== undefined) {
      key = entryKey(append.id);
      if (meta.lastKey !== undefined && key <= meta.lastKey) {
        // The same entry at its id again is a success (a re-sent call); anything else a conflict.
        const stored = await this.#storage.get<WireEntry>(key);
        if (stored && stored.e === append.e && stored.d === append.d) {
          return Response.json({ id: stored.i });
        }
        const last = idOfKey(meta.lastKey);
        return Response.json(
          { error: `the id ${append.id} is taken by another entry (the last id is ${last})` },
          { status: 409 },
        );
      }
      const [ms, seq] = idOfKey(key).split('-');
      meta.lastMs = Number(ms);
      meta.lastSeq = Number(seq);
    } else {
      // Like Redis' `*`: the clock's milliseconds, a sequence within one; never below the last.
      if (now > meta.lastMs) {
        meta.lastMs = now;
        meta.lastSeq = 0;
      } else meta.lastSeq++;
      key = entryKey(`${meta.lastMs}-${meta.lastSeq}`);
    }
    const entry: WireEntry = { i: idOfKey(key) };
    if (append.e !== undefined) entry.e = append.e;
    if (append.d !== undefined) entry.d = append.d;
    meta.lastKey = key;
    meta.firstKey ??= key;
    meta.count++;
    if (append.ttlMs !== undefined) meta.expiresAt = now + append.ttlMs;
    if (append.maxAgeMs !== undefined && Number.isFinite(append.maxAgeMs))
      meta.maxAgeMs = append.maxAgeMs;
    // Stored first: a refused write (an entry too large, say) leaves the log as it was.
    await this.#storage.put<unknown>({ [key]: entry, meta });
    this.#meta = meta;
    const line = encodeLine(entry);
    for (const reader of this.#tails) this.#send(reader, this.#tails, line);
    if (append.maxLen !== undefined) {
      // Trimmed in batches (a tenth of maxLen, at most 128 over): about maxLen, never fewer.
      const slack = Math.min(BATCH, Math.floor(append.maxLen / 10));
      if (meta.count > append.maxLen + slack) await this.#trimFront(meta.count - append.maxLen);
    }
    if (append.maxAgeMs !== undefined) await this.#trimAge(now - append.maxAgeMs);
    this.#schedule(now);
    return Response.json({ id: entry.i });
  }

  async #range(after: string | undefined, count: number): Promise<WireEntry[]> {
    if (this.#expired(Date.now()) || this.#meta.count === 0) return [];
    const entries = await this.#storage.list<WireEntry>({
      prefix: ENTRY_PREFIX,
      ...(after === undefined ? {} : { startAfter: entryKey(after) }),
      limit: Math.max(1, Math.min(count, 1024)),
    });
    return [...entries.values()];
  }

  #bounds(): { first: string; last: string } | null {
    const { firstKey, lastKey } = this.#meta;
    if (this.#expired(Date.now()) || firstKey === undefined || lastKey === undefined) return null;
    return { first: idOfKey(firstKey), last: idOfKey(lastKey) };
  }

  /**
   * A live tail: the reader is registered at once, its first line says the log's last id (where
   * it starts), then each append's entry follows. With `after` (a tail reconnecting), the
   * entries after it come first: the replay and the registration happen without an event in
   * between (only storage is awaited), so nothing falls in the seam.
   */
  async #tail(after: string | undefined): Promise<Response> {
    const lines: Array<Uint8Array> = [];
    if (after !== undefined && !this.#expired(Date.now())) {
      let cursor = entryKey(after);
      for (;;) {
        const batch = await this.#storage.list<WireEntry>({
          prefix: ENTRY_PREFIX,
          startAfter: cursor,
          limit: 512,
        });
        for (const [key, entry] of batch) {
          lines.push(encodeLine(entry));
          cursor = key;
        }
        if (batch.size < 512) break;
      }
    }
    const last = this.#meta.lastKey === undefined ? '0-0' : idOfKey(this.#meta.lastKey);
    const ready: TailLine = { r: last };
    return this.#open(this.#tails, [...lines, encodeLine(ready)]);
  }

  #open(readers: Set<Reader>, first: Array<Uint8Array | string>): Response {
    let reader: Reader | undefined;
    const body = new ReadableStream<Uint8Array>(
      {
        start(controller) {
          reader = controller;
          readers.add(controller);
          for (const line of first)
            controller.enqueue(typeof line === 'string' ? encodeLine(line) : line);
        },
        cancel: () => {
          if (reader) readers.delete(reader);
        },
      },
      { highWaterMark: 0 },
    );
    return new Response(body, { headers: { 'content-type': 'application/x-ndjson' } });
  }

  /** Writes a line to a reader; drops a reader that is gone or too far behind. */
  #send(reader: Reader, readers: Set<Reader>, line: Uint8Array | string): void {
    try {
      if ((reader.desiredSize ?? 0) < -TAIL_BACKLOG) {
        readers.delete(reader);
        reader.error(new Error('the reader fell too far behind'));
        return;
      }
      reader.enqueue(typeof line === 'string' ? encodeLine(line) : line);
    } catch {
      // The reader's stream was closed under it (its Worker went away): it is gone.
      readers.delete(reader);
    }
  }

  async #setValue(value: string, ttlMs: number): Promise<Response> {
    const now = Date.now();
    this.#value = { value, expiresAt: now + ttlMs };
    await this.#storage.put<StoredValue>({ value: this.#value });
    this.#schedule(now);
    return Response.json({ ok: true });
  }

  #liveValue(): StoredValue | undefined {
    return this.#value && this.#value.expiresAt > Date.now() ? this.#value : undefined;
  }

  #expired(now: number): boolean {
    return this.#meta.expiresAt !== undefined && this.#meta.expiresAt <= now;
  }

  /** Deletes the log's entries and state (it expired): the next append starts a new one. */
  async #clear(): Promise<void> {
    for (;;) {
      const batch = await this.#storage.list({ prefix: ENTRY_PREFIX, limit: BATCH });
      if (batch.size > 0) await this.#storage.delete([...batch.keys()]);
      if (batch.size < BATCH) break;
    }
    // Ids go on increasing: a reader of the old log never sees an id of the new one below its own.
    this.#meta = { ...EMPTY, lastMs: this.#meta.lastMs, lastSeq: this.#meta.lastSeq };
    await this.#storage.put<unknown>({ meta: this.#meta });
  }

  /** Deletes the `count` oldest entries (never the newest). */
  async #trimFront(count: number): Promise<void> {
    for (let left = count; left > 0; ) {
      const batch = await this.#storage.list({
        prefix: ENTRY_PREFIX,
        limit: Math.min(BATCH, left),
      });
      const doomed = [...batch.keys()].filter((key) => key !== this.#meta.lastKey);
      if (doomed.length === 0) return;
      await this.#remove(doomed);
      left -= doomed.length;
    }
  }

  /** Deletes the entries older than `minMs` (by their id's `ms`), never the newest. */
  async #trimAge(minMs: number): Promise<void> {
    const end = `${ENTRY_PREFIX}${String(Math.max(0, Math.floor(minMs))).padStart(16, '0')}-`;
    for (;;) {
      const { firstKey, lastKey } = this.#meta;
      if (firstKey === undefined || firstKey >= end || firstKey === lastKey) return;
      const batch = await this.#storage.list({ prefix: ENTRY_PREFIX, end, limit: BATCH });
      const doomed = [...batch.keys()].filter((key) => key !== lastKey);
      if (doomed.length === 0) return;
      await this.#remove(doomed);
    }
  }

  /** Deletes the oldest entries `keys` (in order) and records the new oldest. */
  async #remove(keys: string[]): Promise<void> {
    await this.#storage.delete(keys);
    const next = await this.#storage.list({
      prefix: ENTRY_PREFIX,
      startAfter: keys[keys.length - 1]!,
      limit: 1,
    });
    const meta: LogMeta = { ...this.#meta, count: this.#meta.count - keys.length };
    const [firstKey] = next.keys();
    if (firstKey === undefined) delete meta.firstKey;
    else meta.firstKey = firstKey;
    this.#meta = meta;
    await this.#storage.put<unknown>({ meta });
  }

  /** Sets the alarm at the next expiry (the log's, the value's, the oldest entry's age). */
  #schedule(now: number): void {
    const times: number[] = [];
    if (this.#value) times.push(this.#value.expiresAt);
    const { expiresAt, maxAgeMs, firstKey, lastKey } = this.#meta;
    if (expiresAt !== undefined && this.#meta.count > 0)
      times.push(expiresAt <= now ? now + HELD_RETRY_MS : expiresAt);
    if (maxAgeMs !== undefined && firstKey !== undefined && firstKey !== lastKey)
      times.push(Number(idOfKey(firstKey).split('-')[0]) + maxAgeMs);
    const next = times.length > 0 ? Math.max(now, Math.min(...times)) : undefined;
    if (next === this.#alarmAt) return;
    this.#alarmAt = next;
    void (next === undefined ? this.#storage.deleteAlarm() : this.#storage.setAlarm(next));
  }
}
