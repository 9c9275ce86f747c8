import type { HubEngine } from './engine.ts';

/** Why a cancelled run's signal aborted. */
export class RunCancelledError extends Error {
  constructor(runId: string) {
    super(`The run ${runId} was cancelled.`);
    this.name = 'RunCancelledError';
  }
}

/**
 * The runs this instance executes, and cancellation that reaches them from any instance: a
 * cancel is published through the engine (Redis pub/sub across processes) and also recorded
 * with a TTL, so a run that registers a moment later still sees it.
 * @internal
 */
export function createRunCanceller(engine: HubEngine, ttlMs: number) {
  const local = new Map<string, AbortController>();
  let unsubscribe: (() => void) | undefined;
  const abort = (runId: string) => local.get(runId)?.abort(new RunCancelledError(runId));

  return {
    register(runId: string): AbortSignal {
      unsubscribe ??= engine.onCancel(abort);
      const controller = new AbortController();
      local.set(runId, controller);
      void engine.getValue(`cancel:${runId}`).then(
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
    /** `running` (now cancelled), `finished` (nothing to cancel) or `unknown` (or expired). */
    async cancel(runId: string): Promise<'running' | 'finished' | 'unknown'> {
      const state = await engine.getValue(`run:${runId}`);
      if (state !== 'running') return state === undefined ? 'unknown' : 'finished';
      await engine.setValue(`cancel:${runId}`, '1', ttlMs);
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
