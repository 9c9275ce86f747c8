/**
 * Replay-then-live, written once: how a reader follows a log from a cursor with no gap and no
 * duplicate, however slow its client and however busy the log. A run's response follows the
 * run's log with a tail of its own ({@link followLog}); a topic's subscribers share one tail per
 * topic, which hands entries straight to the subscribers that are live, and a subscriber that is
 * joining or fell behind catches up with a {@link CatchUp} until it is live again.
 *
 * 1. Subscribe first: the tail is up (its `ready` resolved) before the log is read, so every entry
 *    appended from then on reaches the reader, from the tail or from the log.
 * 2. Replay what the log holds after the cursor, in batches of {@link REPLAY_BATCH}, at the
 *    reader's pace. Meanwhile the tail's entries wait in a pending queue. A live reader that
 *    fell behind (its client stopped reading) needs no replay: its cursor is the tail's last
 *    entry, and the pending queue is what follows it.
 * 3. Hand over the pending entries, skipping those at or below the cursor: the replay read them
 *    (the seam).
 * 4. More than {@link MAX_PENDING} pending entries: drop them all and replay from the log again
 *    (step 2), so memory stays bounded. An entry the reader had not received that the log no
 *    longer has (retention trimmed it meanwhile) is reported, never lost silently: the catch-up
 *    keeps a few ids of entries it knows to follow its cursor (the first and the last dropped,
 *    and the one after a replay batch: a batch reads one more entry than it hands over), and a
 *    replay that no longer finds one of them reports the loss (a real one). When none of them
 *    tells (a join's first replay, or the queue was dropped while a replay read and the cursor
 *    moved past them), the log's oldest entry does: retention trims oldest first, so a log that
 *    still has the cursor's entry lost nothing after it, and one that no longer has it may have,
 *    which is reported in doubt. The pending queue holds every entry from its first one on: a
 *    replay that finds the log trimmed past that entry hands over the queue instead of skipping
 *    it.
 * 5. The tail itself fell behind and retention trimmed entries it had not read (the engine
 *    reports the gap, {@link CatchUp.gap}): a reader at or before the gap's start has lost the
 *    entries in it, and hears so ({@link CatchUpReader.lost}) before the entry after the gap:
 *    when that entry is handed over from the pending queue, or when a replay finds nothing left
 *    before the gap's end. A reader whose replay read into the gap (before the trim) hears it
 *    too, unless its replay saw that the entry after its cursor is the gap's end: the tail
 *    cannot tell which of the gap's entries it read, and a loss reported in doubt beats one that
 *    is silent.
 * 6. Nothing pending: caught up. A run's reader waits for the tail's next entry (step 3); a topic
 *    subscriber goes live, and the tail's entries at or below the cursor, which a tail that
 *    delivers asynchronously (Redis) may still bring, are skipped ({@link CatchUp.offer}).
 * @internal
 */
import type { LogReader } from './_shared-reads.ts';
import { compareIds, type HubEngine, isTailGap, type LogEntry, type LogTail } from './engine.ts';

/** Entries read from the log per `range` call while replaying. */
export const REPLAY_BATCH = 256;
/** Live entries a reader that is catching up holds before it replays them from the log instead. */
export const MAX_PENDING = 1024;

/** What `history-lost` says: the id asked for, and the oldest id replayed instead (if any). */
export interface HistoryLost {
  requested: string;
  from: string | null;
}

/** What a catch-up hands entries to. */
export interface CatchUpReader {
  /** True once the reader takes no more entries (its client left, or its stream ended). */
  readonly done: boolean;
  /** Takes one entry; returns a promise when the reader must wait (for room) before the next. */
  take(entry: LogEntry): Promise<void> | undefined;
  /** Entries it had not received were trimmed from the log (by retention) while it was behind. */
  lost?(lost: HistoryLost): void;
}

/**
 * Where a reader that is not live stands, and the catching up itself (steps 2 to 5). A class
 * rather than a closure: a topic makes one per subscriber that joins or falls behind.
 */
export class CatchUp {
  /** The last entry handed over (`undefined`: from the start of the log). */
  cursor: string | undefined;
  #pending: LogEntry[] = [];
  /** Replay from the log before the pending entries: at first, and after pending ones were dropped. */
  #replay: boolean;
  /**
   * The first entry known to follow the cursor (the first dropped after it, or the one after
   * the last replay batch), and the last entry dropped: the next replay checks that the log
   * still has them.
   */
  #known: string | undefined;
  #lastDropped: string | undefined;
  /** The entry right after `after` in the log: read by the last full replay batch. */
  #adjacent: { after: string; id: string } | undefined;
  /**
   * The tail's gaps (in order): the log lost the entries after `after`, before `next`, before the
   * tail read them. Settled by the hand-over of `next` or by a replay (see `#settleGaps`).
   */
  #gaps: Array<{ after: string; next: string }> = [];
  /** Nothing was pending when last looked: the live path takes over (see `offer`). */
  #caughtUp = false;
  #wake: (() => void) | undefined;

  /**
   * `replay: false` when the tail's next entries follow the cursor with nothing in between (a
   * live reader that fell behind at the tail's last entry): the pending queue is the
   * continuation, and the log is read only if that queue overflows. A replay then could find
   * the log trimmed past entries the queue holds, and skip them.
   */
  constructor(cursor: string | undefined, replay = true) {
    this.cursor = cursor;
    this.#replay = replay;
  }

  /** Keeps an entry from the tail; past {@link MAX_PENDING}, drops them all for a replay. */
  hold(entry: LogEntry): void {
    if (this.#pending.length < MAX_PENDING) {
      this.#pending.push(entry);
    } else {
      this.#remember((this.#firstNew(this.#pending) ?? entry).id);
      this.#lastDropped = entry.id;
      this.#dropPending();
    }
    this.interrupt();
  }

  /**
   * The tail fell behind: the log lost the entries after `after` (up to the tail's next entry)
   * before the tail read them. Reported to the reader if it had not read past `after`.
   */
  gap(after: string, next: string): void {
    this.#gaps.push({ after, next });
  }

  /** Drops the pending entries for a replay from the log. */
  #dropPending(): void {
    this.#pending = [];
    this.#replay = true;
  }

  /**
   * An entry from a shared tail: true when the reader is caught up and the entry is new to it,
   * so the caller delivers it live (and forgets this catch-up); false when it was held, or was
   * handed over already.
   */
  offer(entry: LogEntry): boolean {
    if (!this.#caughtUp) {
      this.hold(entry);
      return false;
    }
    return this.#isNew(entry);
  }

  /**
   * Catches up: replays the log after the cursor (when it must), then hands over what the tail
   * delivered meanwhile, until nothing is pending. Resolves true once caught up (decided in the
   * same turn as finding nothing pending, so nothing slips in between), false when the reader
   * is done.
   */
  async run(engine: LogReader, key: string, reader: CatchUpReader): Promise<boolean> {
    this.#caughtUp = false;
    for (;;) {
      if (this.#replay) {
        this.#replay = false;
        if (!(await this.#replayLog(engine, key, reader))) return false;
      }
      while (!this.#replay && this.#pending.length > 0) {
        const pending = this.#pending;
        this.#pending = [];
        for (const entry of pending) {
          if (reader.done) return false;
          if (!this.#isNew(entry)) continue;
          if (this.#gaps.length > 0) this.#settleGaps(reader, entry.id, undefined);
          this.cursor = entry.id;
          const wait = reader.take(entry);
          if (wait !== undefined) await wait;
          if (this.#replay) break;
        }
      }
      if (reader.done) return false;
      if (!this.#replay) {
        this.#caughtUp = true;
        return true;
      }
    }
  }

  /** True once caught up: the tail's entries go to the reader live (see `offer`). */
  get caughtUp(): boolean {
    return this.#caughtUp;
  }

  /** Resolves once the tail delivered more (at once if it has), or at `interrupt()`. */
  next(): Promise<void> {
    if (this.#pending.length > 0 || this.#replay) return Promise.resolve();
    return new Promise((resolve) => {
      this.#wake = resolve;
    });
  }

  /** Wakes a reader waiting in `next()` (its stream ended, say). */
  interrupt(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /**
   * Settles the tail's gaps before the entry `next` that the reader is about to take (handed
   * over from the pending queue), or, with `read`, before what a replay just read after the
   * cursor (`next`: its first entry, `undefined` for none): a reader before a gap's end that
   * gets an entry after the gap lost entries of it, and hears so (once). Returns true when it
   * reported a loss.
   */
  #settleGaps(reader: CatchUpReader, next: string | undefined, read: 'read' | undefined): boolean {
    const cursor = this.cursor;
    let reported = false;
    const open: Array<{ after: string; next: string }> = [];
    for (const gap of this.#gaps) {
      const behind = cursor !== undefined && this.#behind(cursor, gap);
      // Handed over: an entry after the gap's start. Replayed: nothing before the gap's end is
      // left (it was trimmed), else the replay reads through it.
      const passed =
        read === undefined
          ? next !== undefined && compareIds(next, gap.after) > 0
          : next === undefined || compareIds(next, gap.next) >= 0;
      if (behind && !passed) {
        open.push(gap);
        continue;
      }
      if (behind && !reported && reader.lost !== undefined) {
        reader.lost({ requested: cursor, from: next ?? null });
        reported = true;
      }
    }
    this.#gaps = open;
    return reported;
  }

  /**
   * True when the reader at `cursor` misses entries of the gap. At or before its start, surely.
   * Inside it (its replay read some of the gap's entries before they were trimmed), unless the
   * replay saw that the entry after the cursor is the gap's end; when it cannot tell, it says
   * lost: a loss reported in doubt beats one that is silent.
   */
  #behind(cursor: string, gap: { after: string; next: string }): boolean {
    if (compareIds(cursor, gap.after) <= 0) return true;
    if (compareIds(cursor, gap.next) >= 0) return false;
    const known = this.#known;
    return known === undefined || compareIds(known, cursor) <= 0 || compareIds(known, gap.next) < 0;
  }

  /**
   * A gap the tail reports once the reader caught up: what it lost, if it misses entries of it.
   * Its replay may have read into the gap before the trim (a tail that lags the log reports the
   * gap late), so a cursor inside the gap misses the rest of it unless the replay saw otherwise.
   */
  lostInGap(after: string, next: string): HistoryLost | undefined {
    const cursor = this.cursor;
    return cursor !== undefined && this.#behind(cursor, { after, next })
      ? { requested: cursor, from: next }
      : undefined;
  }

  #isNew(entry: LogEntry): boolean {
    return this.cursor === undefined || compareIds(entry.id, this.cursor) > 0;
  }

  /** Keeps `id` as the first entry known to follow the cursor, if it is after it and before any other. */
  #remember(id: string): void {
    const cursor = this.cursor;
    if (cursor !== undefined && compareIds(id, cursor) <= 0) return;
    const known = this.#known;
    const stale = known === undefined || (cursor !== undefined && compareIds(known, cursor) <= 0);
    if (stale || compareIds(id, known) < 0) this.#known = id;
  }

  /**
   * Reports history lost when what follows `requested` (`first`: the log's first entry after it,
   * or the pending queue's) may not be what came right after it:
   * - no loss when `first` is the entry the last replay batch read right after `requested`;
   * - a loss when the log and the pending queue both miss an entry known to have followed
   *   `requested` (one dropped from the queue, or read after a batch);
   * - else the log's oldest entry decides (one query): retention trims oldest first, so a log
   *   that still has `requested` lost nothing after it; one that no longer has it may have lost
   *   entries right after it, and says so (in doubt: a loss reported in doubt beats one that is
   *   silent).
   */
  async #checkLoss(
    engine: LogReader,
    key: string,
    reader: CatchUpReader,
    requested: string | undefined,
    first: string | undefined,
    known: Array<string | undefined>,
    adjacent: { after: string; id: string } | undefined,
  ): Promise<void> {
    if (requested === undefined || reader.lost === undefined) return;
    if (adjacent?.after === requested && adjacent.id === first) return;
    let missing: string | undefined;
    for (const id of known) {
      if (id === undefined || compareIds(id, requested) <= 0) continue;
      if (missing === undefined || compareIds(id, missing) < 0) missing = id;
    }
    const held = this.#pending[0]?.id; // the pending queue has every entry from this one on
    const gone =
      missing !== undefined &&
      (first === undefined || compareIds(missing, first) < 0) &&
      (held === undefined || compareIds(missing, held) < 0);
    if (!gone) {
      // Also at a join's first replay: retention may have trimmed past its cursor since the
      // subscription checked it against the log's bounds.
      const bounds = await engine.bounds(key);
      if (bounds !== undefined && compareIds(bounds.first, requested) <= 0) return;
      if (bounds === undefined && first === undefined) return; // nothing after it, nothing lost
    }
    reader.lost({ requested, from: first ?? null });
  }

  // The first of `entries` (in log order) after the cursor: a binary search.
  #firstNew(entries: LogEntry[]): LogEntry | undefined {
    let low = 0;
    let high = entries.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.#isNew(entries[middle]!)) high = middle;
      else low = middle + 1;
    }
    return entries[low];
  }

  async #replayLog(engine: LogReader, key: string, reader: CatchUpReader): Promise<boolean> {
    for (;;) {
      const requested = this.cursor;
      // Taken before the read: what is dropped while it is in flight, the next one checks.
      const known = [this.#known, this.#lastDropped];
      const adjacent = this.#adjacent;
      this.#known = undefined;
      this.#lastDropped = undefined;
      this.#adjacent = undefined;
      const batch = await engine.range(key, requested, REPLAY_BATCH + 1);
      // The pending queue holds every entry from its first new one on. A log that no longer has
      // that entry (retention trimmed it while the reader was behind) would skip the queue's
      // entries before the log's first: the queue is handed over instead, from that entry.
      const held = this.#firstNew(this.#pending)?.id;
      const trimmed =
        held !== undefined && (batch.length === 0 || compareIds(batch[0]!.id, held) > 0);
      const first = trimmed ? held : batch[0]?.id;
      const reported = this.#gaps.length > 0 && this.#settleGaps(reader, first, 'read');
      if (!reported) await this.#checkLoss(engine, key, reader, requested, first, known, adjacent);
      if (trimmed) return true;
      const count = Math.min(batch.length, REPLAY_BATCH);
      for (let index = 0; index < count; index++) {
        if (reader.done) return false;
        const entry = batch[index]!;
        this.cursor = entry.id;
        const wait = reader.take(entry);
        if (wait !== undefined) await wait;
      }
      if (reader.done) return false;
      if (batch.length <= REPLAY_BATCH) return true;
      // What follows the cursor, as the log had it.
      this.#remember(batch[REPLAY_BATCH]!.id);
      this.#adjacent = { after: batch[REPLAY_BATCH - 1]!.id, id: batch[REPLAY_BATCH]!.id };
    }
  }
}

/** Options of {@link followLog}. */
export interface FollowOptions {
  engine: HubEngine;
  key: string;
  /** The last entry the reader has (`undefined`: from the start of the log). */
  after: string | undefined;
  /** Ends the following (the reader's stream ended). */
  signal: AbortSignal;
  /** Where the replays read the log (reads shared by readers asking the same); the engine by default. */
  reads?: LogReader;
  /** Takes one entry (the next one waits for its promise); returns true to stop after it. */
  take(entry: LogEntry): Promise<boolean>;
  onError?: (error: unknown) => void;
}

/**
 * Follows one log for one reader, with a tail of its own: every entry after `after`, in order,
 * once, until `take` says stop or `signal` aborts.
 */
export async function followLog(options: FollowOptions): Promise<void> {
  const { engine, key, signal } = options;
  const catchUp = new CatchUp(options.after);
  let stopped = false;
  const reader: CatchUpReader = {
    get done() {
      return stopped || signal.aborted;
    },
    take: async (entry) => {
      stopped = await options.take(entry);
    },
  };
  const tail: LogTail = engine.tail(
    key,
    (entry) => catchUp.hold(entry),
    (error) => {
      if (isTailGap(error)) catchUp.gap(error.gap.after, error.gap.next);
      options.onError?.(error);
    },
  );
  const interrupt = () => catchUp.interrupt();
  signal.addEventListener('abort', interrupt, { once: true });
  try {
    await tail.ready;
    while (await catchUp.run(options.reads ?? engine, key, reader)) await catchUp.next();
  } finally {
    signal.removeEventListener('abort', interrupt);
    tail.close();
  }
}
