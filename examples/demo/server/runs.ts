/**
 * What the demo knows about the runs it started, for `GET /api/debug/runs`: the end-to-end tests
 * read it to check that Stop really cancelled the run on the server, not only the connection.
 */
import type { RunWriter } from '../../../src/hub/index.ts';
import type { RunRecord } from '../shared.ts';

/** The runs of this process, newest last. */
export interface RunRegistry {
  /** Runs `work` for `run`, recording how it ends. */
  track<T>(kind: RunRecord['kind'], run: RunWriter, work: () => Promise<T>): Promise<T>;
  list(): RunRecord[];
}

/** A registry that keeps the last `limit` runs. */
export function createRunRegistry(limit = 100): RunRegistry {
  const records = new Map<string, RunRecord>();
  return {
    async track(kind, run, work) {
      const record: RunRecord = {
        runId: run.runId,
        kind,
        state: 'running',
        startedAt: Date.now(),
      };
      records.set(run.runId, record);
      for (const runId of records.keys()) {
        if (records.size <= limit) break;
        records.delete(runId);
      }
      try {
        const result = await work();
        record.state = 'finished';
        return result;
      } catch (error) {
        // The run's signal aborts only when it is cancelled (or the hub closes), never when a
        // client disconnects: that is what tells a cancel from a failure.
        record.state = run.signal.aborted ? 'cancelled' : 'failed';
        throw error;
      } finally {
        record.endedAt = Date.now();
      }
    },
    list: () => [...records.values()],
  };
}
