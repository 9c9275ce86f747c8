/**
 * What the demo knows about the runs it started, for `GET /api/debug/runs`: the end-to-end tests
 * read it to check that Stop really cancelled the run on the server, not only the connection, and
 * that a reload resumed an AI answer without calling the model again.
 */
import type { RunRecord } from '../shared.ts';

/** What a record needs of a run: its id, and the signal that aborts only when it is cancelled. */
export interface TrackedRun {
  runId: string;
  signal: AbortSignal;
}

/** A record in progress: count its tokens, then end it. */
export interface RunHandle {
  readonly record: RunRecord;
  /** Ends the record: finished, or cancelled (the run's signal aborted) or failed (`error`). */
  end(error?: unknown): void;
}

/** The runs of this process, newest last. */
export interface RunRegistry {
  /** Runs `work` for `run`, recording how it ends. */
  track<T>(kind: RunRecord['kind'], run: TrackedRun, work: () => Promise<T>): Promise<T>;
  /** Starts a record whose end the caller reports (a model call that streams after it returns). */
  begin(kind: RunRecord['kind'], run: TrackedRun, extra?: Pick<RunRecord, 'chatId'>): RunHandle;
  list(): RunRecord[];
}

/** A registry that keeps the last `limit` runs; `onEnd` hears each run that ends. */
export function createRunRegistry(
  limit = 100,
  onEnd: (record: RunRecord) => void = () => {},
): RunRegistry {
  const records = new Map<string, RunRecord>();
  const begin: RunRegistry['begin'] = (kind, run, extra) => {
    const record: RunRecord = {
      runId: run.runId,
      kind,
      state: 'running',
      startedAt: Date.now(),
      ...extra,
    };
    records.set(run.runId, record);
    for (const runId of records.keys()) {
      if (records.size <= limit) break;
      records.delete(runId);
    }
    return {
      record,
      end(error) {
        if (record.state !== 'running') return;
        // The run's signal aborts only when it is cancelled (or the hub closes), never when a
        // client disconnects: that is what tells a cancel from a failure.
        record.state = run.signal.aborted
          ? 'cancelled'
          : error === undefined
            ? 'finished'
            : 'failed';
        record.endedAt = Date.now();
        onEnd(record);
      },
    };
  };
  return {
    begin,
    async track(kind, run, work) {
      const handle = begin(kind, run);
      try {
        const result = await work();
        handle.end();
        return result;
      } catch (error) {
        handle.end(error ?? new Error('failed'));
        throw error;
      }
    },
    list: () => [...records.values()],
  };
}
