import { unrefTimer } from '../_internal/timers.ts';
import { EngineError } from '../errors.ts';
import {
  type AppendOptions,
  compareIds,
  type HubEngine,
  type LogEntry,
  type LogTail,
  type StoredEvent,
} from './engine.ts';

/** Options of {@link createMemoryEngine}. */
export interface MemoryEngineOptions {
  /**
   * How often expired logs and values are swept.
   * @default 30_000
   */
  sweepIntervalMs?: number;
}

interface Log {
  entries: LogEntry[];
  /** Index of the first live entry in `entries` (trimming advances it, compaction resets it). */
  head: number;
  lastMs: number;
  lastSeq: number;
  expiresAt: number;
  listeners: Set<(entry: LogEntry) => void>;
}

/**
 * The default hub engine: logs in this process's memory, bounded by each append's `maxLen`,
 * `maxAgeMs` and `ttlMs`. Right for one process; use the Redis engine for several instances.
 *
 * @example
 * ```ts
 * import { createHub, createMemoryEngine } from 'ssekit/hub';
 *
 * const hub = createHub({ engine: createMemoryEngine() });
 * ```
 */
export function createMemoryEngine(options: MemoryEngineOptions = {}): HubEngine {
  const logs = new Map<string, Log>();
  const values = new Map<string, { value: string; expiresAt: number }>();
  const cancelListeners = new Set<(runId: string) => void>();
  const sweepIntervalMs = options.sweepIntervalMs ?? 30_000;
  // Started at the first write, not here: construction at module scope must not start timers
  // (workerd refuses them in global scope).
  let sweep: ReturnType<typeof setInterval> | undefined;
  const startSweep = () => {
    if (sweep !== undefined) return;
    sweep = setInterval(() => {
      const now = Date.now();
      for (const [key, log] of logs)
        if (log.expiresAt <= now && log.listeners.size === 0) logs.delete(key);
      for (const [key, value] of values) if (value.expiresAt <= now) values.delete(key);
    }, sweepIntervalMs);
    unrefTimer(sweep);
  };

  const getLog = (key: string): Log | undefined => {
    const log = logs.get(key);
    if (log && log.expiresAt <= Date.now() && log.listeners.size === 0) {
      logs.delete(key);
      return undefined;
    }
    return log;
  };
  const ensureLog = (key: string): Log => {
    let log = getLog(key);
    if (!log) {
      startSweep();
      log = {
        entries: [],
        head: 0,
        lastMs: 0,
        lastSeq: 0,
        expiresAt: Number.POSITIVE_INFINITY,
        listeners: new Set(),
      };
      logs.set(key, log);
    }
    return log;
  };

  return {
    async append(key: string, event: StoredEvent, append: AppendOptions = {}): Promise<string> {
      const log = ensureLog(key);
      const id = append.id ?? nextId(log);
      if (append.id !== undefined) {
        const last =
          log.entries.length > log.head ? log.entries[log.entries.length - 1]!.id : undefined;
        if (last !== undefined && compareIds(id, last) <= 0) {
          // The same entry appended again is a success (appends are idempotent, as on Redis).
          const stored = log.entries[firstAfter(log, id) - 1];
          if (stored?.id === id && sameEvent(stored.event, event)) return id;
          throw new EngineError(
            `append: the id ${id} of ${key} is taken by another entry (the last id is ${last}).`,
            { code: 'append-conflict' },
          );
        }
      }
      const entry: LogEntry = { id, event: { ...event } };
      log.entries.push(entry);
      trim(log, append);
      if (append.ttlMs !== undefined) log.expiresAt = Date.now() + append.ttlMs;
      for (const listener of log.listeners) listener(entry);
      return id;
    },
    async range(key: string, after: string | undefined, count: number): Promise<LogEntry[]> {
      const log = getLog(key);
      if (!log) return [];
      let index = log.head;
      if (after !== undefined) index = firstAfter(log, after);
      return log.entries.slice(index, index + count);
    },
    async bounds(key: string) {
      const log = getLog(key);
      if (!log || log.entries.length === log.head) return undefined;
      return { first: log.entries[log.head]!.id, last: log.entries[log.entries.length - 1]!.id };
    },
    tail(key: string, listener: (entry: LogEntry) => void): LogTail {
      const log = ensureLog(key);
      log.listeners.add(listener);
      return {
        ready: Promise.resolve(),
        close: () => log.listeners.delete(listener),
      };
    },
    async setValue(key: string, value: string, ttlMs: number): Promise<void> {
      startSweep();
      values.set(key, { value, expiresAt: Date.now() + ttlMs });
    },
    async getValue(key: string): Promise<string | undefined> {
      const entry = values.get(key);
      if (!entry) return undefined;
      if (entry.expiresAt <= Date.now()) {
        values.delete(key);
        return undefined;
      }
      return entry.value;
    },
    async publishCancel(runId: string): Promise<void> {
      for (const listener of cancelListeners) listener(runId);
    },
    onCancel(listener: (runId: string) => void): () => void {
      cancelListeners.add(listener);
      return () => cancelListeners.delete(listener);
    },
    async close(): Promise<void> {
      if (sweep !== undefined) clearInterval(sweep);
      sweep = undefined;
      logs.clear();
      values.clear();
      cancelListeners.clear();
    },
  };
}

function sameEvent(a: StoredEvent, b: StoredEvent): boolean {
  return a.data === b.data && a.event === b.event;
}

// Time-based ids like Redis' `*`: milliseconds, then a sequence within the millisecond.
function nextId(log: Log): string {
  const now = Date.now();
  if (now > log.lastMs) {
    log.lastMs = now;
    log.lastSeq = 0;
  } else {
    log.lastSeq++;
  }
  return `${log.lastMs}-${log.lastSeq}`;
}

function trim(log: Log, options: AppendOptions): void {
  const { maxLen, maxAgeMs } = options;
  if (maxLen !== undefined && log.entries.length - log.head > maxLen)
    log.head = log.entries.length - maxLen;
  if (maxAgeMs !== undefined) {
    const minMs = Date.now() - maxAgeMs;
    while (
      log.head < log.entries.length - 1 &&
      Number(log.entries[log.head]!.id.split('-')[0]) < minMs
    )
      log.head++;
  }
  // Compact once the trimmed prefix outweighs the live part: amortised O(1) per append.
  if (log.head > 1024 && log.head > log.entries.length / 2) {
    log.entries = log.entries.slice(log.head);
    log.head = 0;
  }
}

// Binary search for the first entry with an id greater than `after`.
function firstAfter(log: Log, after: string): number {
  let low = log.head;
  let high = log.entries.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (compareIds(log.entries[middle]!.id, after) <= 0) low = middle + 1;
    else high = middle;
  }
  return low;
}
