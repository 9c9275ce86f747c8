import { HubError } from '../errors.ts';
import { cancelKey, stateKey } from './_run-ids.ts';
import type { HubEngine } from './engine.ts';

/**
 * The runs this instance executes, and cancellation that reaches them from any instance: a
 * cancel is published through the engine (Redis pub/sub across processes) and also recorded
 * with a TTL, so a run that registers a moment later still sees it. A cancelled run's signal
 * aborts with a {@link HubError} `run-cancelled`.
 * @internal
 */
export interface RunCanceller {
  register(runId: string): AbortSignal;
  unregister(runId: string): void;
  /** Aborts a local run's signal with `reason` (its producer was fenced off, say). */
  fail(runId: string, reason: unknown): void;
  /** `running` (now cancelled), `finished` (nothing to cancel) or `unknown` (or expired). */
  cancel(runId: string): Promise<'running' | 'finished' | 'unknown'>;
  close(): void;
}

/** @internal */
export function createRunCanceller(engine: HubEngine, ttlMs: number): RunCanceller {
  const local = new Map<string, AbortController>();
  let unsubscribe: (() => void) | undefined;
  const fail = (runId: string, reason: unknown): void => local.get(runId)?.abort(reason);
  const abort = (runId: string) =>
    fail(runId, new HubError('run-cancelled', `The run ${runId} was cancelled.`));

  return {
    register(runId: string): AbortSignal {
      unsubscribe ??= engine.onCancel(abort);
      const controller = new AbortController();
      local.set(runId, controller);
      void engine.getValue(cancelKey(runId)).then(
        (flag) => {
          if (flag) abort(runId);
        },
        () => {
          // The pub/sub path still cancels it; a failed lookup only loses the early-cancel case.
        },
      );
      return controller.signal;
    },
    unregister(runId: string): void {
      local.delete(runId);
    },
    fail,
    async cancel(runId: string): Promise<'running' | 'finished' | 'unknown'> {
      const state = await engine.getValue(stateKey(runId));
      if (state !== 'running') return state === undefined ? 'unknown' : 'finished';
      await engine.setValue(cancelKey(runId), '1', ttlMs);
      abort(runId);
      await engine.publishCancel(runId);
      return 'running';
    },
    close(): void {
      for (const runId of local.keys()) abort(runId);
      local.clear();
      unsubscribe?.();
      unsubscribe = undefined;
    },
  };
}
