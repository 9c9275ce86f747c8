/**
 * The storage a hub runs on: append-only logs with ids in Redis Streams form (`<ms>-<seq>`),
 * small metadata values with TTLs, and a cancel signal that reaches every instance. The memory
 * engine implements it in one process; the Redis engine (`ssekit/hub/redis`) across processes.
 *
 * @module
 */
import { EngineError, type TailGap } from '../errors.ts';

/** What a log stores of an event: its type and data (ids are the log's own). */
export interface StoredEvent {
  /** The event type; absent for `message`. */
  event?: string;
  /**
   * The serialized data; absent when the producer sent none, and then the event goes out with
   * no `data:` line (src/_internal/serialize-event.ts). An engine must give back absent as absent.
   */
  data?: string | undefined;
}

/** One log entry. */
export interface LogEntry {
  /** `<ms>-<seq>`, increasing within a log. */
  id: string;
  event: StoredEvent;
}

/** Options of {@link HubEngine.append}. */
export interface AppendOptions {
  /** An explicit id (`0-<n>`, increasing): the caller is the log's only writer. Else assigned. */
  id?: string;
  /** Keep about this many entries (older ones are trimmed; approximate on Redis). */
  maxLen?: number;
  /** Trim entries older than this (logs with assigned, time-based ids). */
  maxAgeMs?: number;
  /** The whole log expires this long after its last append. */
  ttlMs?: number;
}

/** A live tail of a log: entries appended after `ready` resolved reach the listener, in order. */
export interface LogTail {
  /** Resolves once every later append is sure to reach the listener. */
  readonly ready: Promise<void>;
  close(): void;
}

/** The storage interface of a hub. */
export interface HubEngine {
  /** Appends an entry; resolves with its id once it is stored (acknowledged). */
  append(key: string, event: StoredEvent, options?: AppendOptions): Promise<string>;
  /** Up to `count` entries with ids greater than `after` (all from the start without it). */
  range(key: string, after: string | undefined, count: number): Promise<LogEntry[]>;
  /** The oldest and newest retained ids, or undefined for an empty or missing log. */
  bounds(key: string): Promise<{ first: string; last: string } | undefined>;
  /**
   * Follows a log. `onError` hears about failures the tail is recovering from, and about a gap:
   * a tail that fell behind while retention trimmed entries it had not read yet reports an
   * `EngineError` of code `history-lost` (its `gap` says where) right before the entry after the
   * gap, never skipping them silently.
   */
  tail(
    key: string,
    listener: (entry: LogEntry) => void,
    onError?: (error: unknown) => void,
  ): LogTail;
  /** Sets a small value with a time to live. */
  setValue(key: string, value: string, ttlMs: number): Promise<void>;
  getValue(key: string): Promise<string | undefined>;
  /** Tells every instance (this one included) that `runId` is cancelled. */
  publishCancel(runId: string): Promise<void>;
  /** Hears every cancel published on any instance; returns the unsubscribe function. */
  onCancel(listener: (runId: string) => void): () => void;
  /** Releases connections and timers. */
  close(): Promise<void>;
}

/** The report of a tail's gap (see {@link HubEngine.tail}). @internal */
export function tailGapError(
  engine: string,
  key: string,
  after: string,
  next: string,
): EngineError {
  return new EngineError(
    `${engine} tail of ${key} fell behind: entries after ${after} were trimmed before it read them; it goes on at ${next}.`,
    { code: 'history-lost', gap: { after, next } },
  );
}

/** True for a tail's gap report: an `EngineError` of code `history-lost`. @internal */
export function isTailGap(error: unknown): error is EngineError & { gap: TailGap } {
  return EngineError.isInstance(error) && error.code === 'history-lost' && error.gap !== undefined;
}

/** Compares two `<ms>-<seq>` ids. @internal */
export function compareIds(a: string, b: string): number {
  const [aMs, aSeq] = splitId(a);
  const [bMs, bSeq] = splitId(b);
  return aMs === bMs ? Math.sign(aSeq - bSeq) : Math.sign(aMs - bMs);
}

function splitId(id: string): [number, number] {
  const dash = id.indexOf('-');
  return dash === -1 ? [Number(id), 0] : [Number(id.slice(0, dash)), Number(id.slice(dash + 1))];
}

/** True for a `<ms>-<seq>` id. @internal */
export function isLogId(value: string): boolean {
  return /^\d{1,16}-\d{1,16}$/.test(value);
}
