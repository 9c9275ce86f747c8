/**
 * The producer lease. A run's producer runs on one instance, detached from every connection; if
 * that instance dies (a recycled serverless instance, a deploy, `kill -9`), nothing would ever
 * write the run's end. So the instance holds a lease in the engine while the producer runs,
 * renewed every `leaseRenewMs` and lasting `producerLeaseMs`; a reader that waits checks it, and
 * the first to find it lapsed ends the run once, for every reader on every instance: an `error`
 * event `producer-lost` after the last entry. A producer that was only paused finds its next id
 * taken when it resumes, and is fenced off (`_runs.ts`).
 */
import { unrefTimer } from '../_internal/timers.ts';
import { EngineError, HubError } from '../errors.ts';
import { leaseKey, logId, logKey, seqOf, stateKey } from './_run-ids.ts';
import { isTerminal } from './_validate.ts';
import type { ResolvedHubOptions } from './options.ts';

/** The leases of one hub's runs. */
export interface Leases {
  /** Takes the lease of a run that starts; it is renewed until `release()`. */
  hold(runId: string): Promise<{ release(): void }>;
  /**
   * While a reader waits: checks the lease every `leaseRenewMs` in which the reader `saw()` no
   * entry (a producer that logs needs no check), and at once for a resume.
   */
  watch(runId: string, immediately: boolean): { saw(): void; stop(): void };
}

/** @internal */
export function createLeases(hub: ResolvedHubOptions): Leases {
  const { engine, onError, runTtlMs, producerLeaseMs, leaseRenewMs } = hub;
  const renew = (runId: string) => engine.setValue(leaseKey(runId), '1', producerLeaseMs);

  /**
   * Ends a running run whose lease lapsed. Two readers doing it at once append the same entry at
   * the same id, which the engine stores once (appends are idempotent). With `unstartedLost`, a
   * run without a state counts too: a run that never started (its instance failed between
   * claiming an `Idempotency-Key` and starting the run), once it has had a lease's time to start.
   */
  async function endIfProducerLost(runId: string, unstartedLost: boolean): Promise<void> {
    const state = await engine.getValue(stateKey(runId));
    if (state !== 'running' && !(state === undefined && unstartedLost)) return;
    if ((await engine.getValue(leaseKey(runId))) !== undefined) return;
    const key = logKey(runId);
    const last = (await engine.bounds(key))?.last;
    const seq = last === undefined ? 0 : seqOf(last);
    if (seq > 0) {
      const [entry] = await engine.range(key, logId(seq - 1), 1);
      if (entry && isTerminal(entry.event)) return;
    }
    const lost = new HubError(
      'producer-lost',
      'The run stopped: the instance running its producer was lost. Start a new request.',
    );
    try {
      await engine.append(
        key,
        { event: 'error', data: JSON.stringify({ message: lost.message, code: lost.code }) },
        { id: logId(seq + 1), ttlMs: runTtlMs },
      );
    } catch (error) {
      if (EngineError.isInstance(error) && error.code === 'append-conflict') return; // it lives
      throw error;
    }
    await engine.setValue(stateKey(runId), 'finished', runTtlMs);
  }

  return {
    async hold(runId) {
      await renew(runId);
      const renewal = setInterval(() => renew(runId).catch(onError), leaseRenewMs);
      unrefTimer(renewal);
      return { release: () => clearInterval(renewal) };
    },

    watch(runId, immediately) {
      const since = Date.now();
      let seen = false;
      let checking = false;
      const check = () => {
        if (seen || checking) {
          seen = false;
          return;
        }
        checking = true;
        endIfProducerLost(runId, Date.now() - since >= producerLeaseMs)
          .catch(onError)
          .finally(() => {
            checking = false;
          });
      };
      const timer = setInterval(check, leaseRenewMs);
      unrefTimer(timer);
      if (immediately) check();
      return {
        saw: () => {
          seen = true;
        },
        stop: () => clearInterval(timer),
      };
    },
  };
}
