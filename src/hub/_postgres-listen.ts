/**
 * The PostgreSQL engine's live side: one `LISTEN` connection per engine, and one shared tail per
 * log that a notification wakes to fetch the rows after its cursor. A NOTIFY carries a log's key
 * only, so a burst of large events costs one query per awake tail, not one payload per event.
 */
import { unrefTimer } from '../_internal/timers.ts';
import { EngineError } from '../errors.ts';
import { compareIds, type LogEntry, type LogTail, tailGapError } from './engine.ts';

/** A notification as `pg` delivers it. */
export interface PgNotification {
  channel: string;
  payload?: string | undefined;
}

/** A connection checked out of a pool (`pg.PoolClient` has it as is). */
export interface PgPoolClientLike {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
  on(event: 'notification', listener: (message: PgNotification) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  removeListener(event: 'notification', listener: (message: PgNotification) => void): unknown;
  removeListener(event: 'error', listener: (error: Error) => void): unknown;
  /** Returns the connection; `true` (or an error) destroys it instead. */
  release(destroy?: boolean | Error): void;
}

/** The longest wait between two tries of a lost connection or a failed fetch. */
const MAX_RETRY_DELAY_MS = 2_000;

/** How many rows one fetch of a tail reads. */
const FETCH_BATCH = 512;

export interface ListenerOptions {
  connect(): Promise<PgPoolClientLike>;
  channel: string;
  retryDelayMs: number;
  onPayload(payload: string): void;
  /** The connection was lost (`error`) or is back (`undefined`): tails fetch what they missed. */
  onState(error: EngineError | undefined): void;
}

/**
 * The one `LISTEN` connection. Lost, it is replaced with backoff; once back, every tail fetches
 * from its cursor, so nothing appended meanwhile is missed (notifications are not replayed).
 */
export class Listener {
  readonly #options: ListenerOptions;
  #client: PgPoolClientLike | undefined;
  #ready: Promise<void> | undefined;
  #closed = false;
  /** Makes the current connection's listeners deaf (it goes back to the pool on close). */
  #stop: (() => void) | undefined;

  constructor(options: ListenerOptions) {
    this.#options = options;
  }

  /** Resolves once notifications flow; the first failure to connect rejects (and is retried later). */
  ready(): Promise<void> {
    this.#ready ??= this.#connect().catch((error: unknown) => {
      this.#ready = undefined;
      throw error;
    });
    return this.#ready;
  }

  /** Stops listening and returns the connection to the pool (destroyed if UNLISTEN fails). */
  async close(): Promise<void> {
    this.#closed = true;
    const client = this.#client;
    this.#client = undefined;
    if (!client) return;
    this.#stop?.();
    try {
      await client.query('UNLISTEN *');
      client.release();
    } catch {
      client.release(true);
    }
  }

  async #connect(): Promise<void> {
    const { channel } = this.#options;
    let client: PgPoolClientLike;
    try {
      client = await this.#options.connect();
    } catch (cause) {
      throw listenError(cause);
    }
    let lost = false;
    const onLost = (cause: unknown) => {
      if (lost) return;
      lost = true;
      client.release(true);
      if (this.#client !== client) return;
      this.#client = undefined;
      this.#reconnect(listenError(cause));
    };
    const onNotification = (message: PgNotification) => {
      if (message.channel === channel && !lost) this.#options.onPayload(message.payload ?? '');
    };
    client.on('notification', onNotification);
    client.on('error', onLost);
    this.#stop = () => {
      lost = true;
      client.removeListener('notification', onNotification);
      client.removeListener('error', onLost);
    };
    try {
      await client.query(`LISTEN "${channel}"`);
    } catch (cause) {
      if (!lost) {
        lost = true;
        client.release(true);
      }
      throw listenError(cause);
    }
    if (this.#closed) {
      lost = true;
      client.release(true);
      return;
    }
    this.#client = client;
  }

  #reconnect(error: EngineError): void {
    if (this.#closed) return;
    this.#options.onState(error);
    this.#ready = (async () => {
      let delay = this.#options.retryDelayMs;
      while (!this.#closed) {
        await sleep(delay);
        try {
          await this.#connect();
          this.#options.onState(undefined);
          return;
        } catch (cause) {
          this.#options.onState(EngineError.isInstance(cause) ? cause : listenError(cause));
          delay = Math.min(delay * 2, MAX_RETRY_DELAY_MS);
        }
      }
    })();
  }
}

export interface SharedTailOptions {
  key: string;
  retryDelayMs: number;
  /** Resolves once notifications flow. */
  listening(): Promise<void>;
  /**
   * The last id handed out in the log (where a new tail starts) and its ordinal (the count of
   * entries ever appended), if any.
   */
  cursor(key: string): Promise<{ id: string; n: number } | undefined>;
  /** The entries after `after`, each with its ordinal in the log. */
  fetch(key: string, after: string, count: number): Promise<OrdinalEntry[]>;
  onIdle(): void;
}

/** An entry as a tail reads it: with its ordinal in the log (1, 2, ...; trimming leaves holes). */
export interface OrdinalEntry {
  entry: LogEntry;
  n: number;
}

/**
 * The tail of one log, shared by every local listener: a notification (or a reconnection) wakes
 * it, and it fetches every row after its cursor, one fetch at a time, delivering in id order.
 */
export class SharedTail {
  readonly #options: SharedTailOptions;
  readonly #listeners = new Map<
    (entry: LogEntry) => void,
    ((error: unknown) => void) | undefined
  >();
  #ready: Promise<void> | undefined;
  #cursor: string | undefined;
  /** The ordinal of the entry at the cursor (0: the log had none). */
  #n = 0;
  #fetching = false;
  #again = false;
  #stopped = false;
  #delay: number;
  #retry: ReturnType<typeof setTimeout> | undefined;

  constructor(options: SharedTailOptions) {
    this.#options = options;
    this.#delay = options.retryDelayMs;
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
        if (this.#listeners.size === 0 && !this.#stopped) {
          this.stop();
          this.#options.onIdle();
        }
      },
    };
  }

  stop(): void {
    this.#stopped = true;
    if (this.#retry !== undefined) clearTimeout(this.#retry);
  }

  /** Something was appended (or may have been, while notifications were lost): fetch it. */
  wake(): void {
    if (this.#stopped) return;
    if (this.#cursor === undefined || this.#fetching) {
      this.#again = true;
      return;
    }
    void this.#drain();
  }

  /**
   * An entry this instance appended, committed: delivered at once when it is the next one (its
   * ordinal follows the cursor's), so a local publish reaches local readers without waiting for
   * its NOTIFY and a fetch. Otherwise (another instance's entry comes first, or the tail is not up
   * yet) the fetch that its NOTIFY wakes delivers it. A fetch that reads it again skips it (its
   * id is at the cursor).
   */
  appended(entry: LogEntry, n: number): void {
    const cursor = this.#cursor;
    if (this.#stopped || cursor === undefined || n !== this.#n + 1) return;
    if (compareIds(entry.id, cursor) <= 0) return;
    this.#cursor = entry.id;
    this.#n = n;
    for (const listener of this.#listeners.keys()) listener(entry);
  }

  #gap(after: string, next: string): void {
    this.report(tailGapError('PostgreSQL', this.#options.key, after, next));
  }

  report(error: unknown): void {
    for (const onError of this.#listeners.values()) onError?.(error);
  }

  // Listening comes first, then the cursor: every append that the cursor does not cover commits
  // after the LISTEN, so its notification arrives.
  async #start(): Promise<void> {
    await this.#options.listening();
    if (this.#stopped) return; // closed meanwhile (the engine, or every listener): no query
    const cursor = await this.#options.cursor(this.#options.key);
    this.#cursor = cursor?.id ?? '0-0';
    this.#n = cursor?.n ?? 0;
    if (this.#again) this.wake();
  }

  async #drain(): Promise<void> {
    this.#fetching = true;
    try {
      do {
        this.#again = false;
        let batch: OrdinalEntry[];
        do {
          batch = await this.#options.fetch(this.#options.key, this.#cursor!, FETCH_BATCH);
          for (const { entry, n } of batch) {
            if (this.#stopped) return;
            if (compareIds(entry.id, this.#cursor!) <= 0) continue;
            // Ordinals go up by one per append: a jump means retention trimmed the entries in
            // between before this fetch read them. (A smaller one is a new log, the old one
            // having expired.) Reported before the entry, never skipped silently.
            if (n > this.#n + 1) this.#gap(this.#cursor!, entry.id);
            this.#cursor = entry.id;
            this.#n = n;
            for (const listener of this.#listeners.keys()) listener(entry);
          }
        } while (batch.length === FETCH_BATCH && !this.#stopped);
      } while (this.#again && !this.#stopped);
      this.#delay = this.#options.retryDelayMs;
    } catch (cause) {
      if (this.#stopped) return;
      this.report(
        new EngineError(
          `PostgreSQL tail of ${this.#options.key} failed, retrying in ${this.#delay} ms: ${message(cause)}`,
          { cause },
        ),
      );
      this.#retry = setTimeout(() => {
        this.#retry = undefined;
        this.wake();
      }, this.#delay);
      unrefTimer(this.#retry);
      this.#delay = Math.min(this.#delay * 2, MAX_RETRY_DELAY_MS);
    } finally {
      this.#fetching = false;
    }
  }
}

function listenError(cause: unknown): EngineError {
  return new EngineError(`PostgreSQL LISTEN failed: ${message(cause)}`, { cause });
}

function message(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => {
    unrefTimer(setTimeout(resolve, ms));
  });
}
