import type { EventStreamEvent } from '../server/types.ts';
import { compareIds, type HubEngine, type LogEntry } from './engine.ts';

/** Where a tail starts: every retained entry, after an id, or only entries appended from now. */
export type TailStart = { from: 'beginning' } | { from: 'after'; id: string } | { from: 'now' };

/** @internal */
export interface TailOptions {
  engine: HubEngine;
  key: string;
  start: TailStart;
  signal: AbortSignal;
  /** Entries buffered while the consumer is behind before the tail falls back to replay. */
  maxBuffered?: number;
  onError?: (error: unknown) => void;
}

const REPLAY_BATCH = 256;

/**
 * Follows a log with no gap and no duplicate: it subscribes first, then replays what is stored
 * after the cursor, then delivers live entries newer than the cursor. A consumer that falls
 * behind by more than `maxBuffered` live entries is switched back to replay, so memory stays
 * bounded however slow the client and however busy the log.
 * @internal
 */
export async function* tailLog(options: TailOptions): AsyncGenerator<LogEntry> {
  const { engine, key, signal } = options;
  const maxBuffered = options.maxBuffered ?? 1024;
  let live: LogEntry[] = [];
  let overflowed = false;
  let wake: (() => void) | undefined;
  const notify = () => {
    const resolve = wake;
    wake = undefined;
    resolve?.();
  };
  const tail = engine.tail(
    key,
    (entry) => {
      if (live.length >= maxBuffered) {
        overflowed = true;
        live = [];
      } else {
        live.push(entry);
      }
      notify();
    },
    options.onError,
  );
  signal.addEventListener('abort', notify, { once: true });
  try {
    await tail.ready;
    let cursor = await startCursor(engine, key, options.start);
    for (;;) {
      // Replay: everything stored after the cursor, in batches.
      for (;;) {
        const batch = await engine.range(key, cursor, REPLAY_BATCH);
        if (signal.aborted) return;
        for (const entry of batch) {
          cursor = entry.id;
          yield entry;
        }
        if (batch.length < REPLAY_BATCH) break;
      }
      overflowed = false;
      // Live: what the tail delivered; entries the replay already covered are skipped.
      while (!overflowed) {
        const pending = live;
        live = [];
        for (const entry of pending) {
          if (cursor !== undefined && compareIds(entry.id, cursor) <= 0) continue;
          cursor = entry.id;
          yield entry;
          if (overflowed) break;
        }
        if (signal.aborted) return;
        if (live.length === 0 && !overflowed)
          await new Promise<void>((resolve) => (wake = resolve));
        if (signal.aborted) return;
      }
      live = [];
    }
  } finally {
    signal.removeEventListener('abort', notify);
    tail.close();
  }
}

async function startCursor(
  engine: HubEngine,
  key: string,
  start: TailStart,
): Promise<string | undefined> {
  if (start.from === 'beginning') return undefined;
  if (start.from === 'after') return start.id;
  return (await engine.bounds(key))?.last ?? '0-0';
}

/** A stored entry as the event the client receives. @internal */
export function toClientEvent(entry: LogEntry, id: string): EventStreamEvent {
  const event: EventStreamEvent = { id, data: entry.event.data };
  if (entry.event.event !== undefined) event.event = entry.event.event;
  return event;
}
