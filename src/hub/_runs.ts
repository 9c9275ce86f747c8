/**
 * Runs: a producer runs detached from the connection and appends its events to the run's log;
 * every response of the run (the first one, and every resume, on any instance) follows that log
 * (src/hub/_catch-up.ts). While the producer runs, its instance holds a lease (`_lease.ts`); a
 * producer whose next id a reader took (its lease had lapsed) is fenced off here.
 */
import { checkedWriter, type WriterChecks } from '../_internal/checked-writer.ts';
import { runProducer } from '../_internal/run-producer.ts';
import { serializeEventData } from '../_internal/serialize-event.ts';
import { EngineError, HubError, RequestError } from '../errors.ts';
import {
  contractChecksOf,
  createEventStream,
  readLastEventId,
} from '../server/create-event-stream.ts';
import type { ObserveStream, StreamObserver } from '../server/observe.ts';
import type { WithContract } from '../server/options.ts';
import type { EventStreamEvent } from '../server/types.ts';
import { RUN_ID_HEADER } from './_cancel-endpoint.ts';
import { followLog } from './_catch-up.ts';
import { errorAnswer } from './_error-answer.ts';
import { claimRun, idempotencyKeyOf } from './_idempotency.ts';
import { createLeases } from './_lease.ts';
import type { RunCanceller } from './_run-cancel.ts';
import { contextKey, eventIdOf, logId, logKey, randomRunId, stateKey } from './_run-ids.ts';
import type { LogReader } from './_shared-reads.ts';
import { clientEventOf, isTerminal, parseRunEventId, storedEventOf } from './_validate.ts';
import type { StoredEvent } from './engine.ts';
import type { ResolvedHubOptions } from './options.ts';
import type {
  HubStreamOptions,
  ObservedRunStart,
  RunEndReason,
  RunObserver,
  RunProducer,
  RunWriter,
} from './types.ts';

/** The data of the `done` event of a cancelled run. */
const CANCELLED = '{"cancelled":true}';

/** The runs of one hub. */
export interface Runs {
  /**
   * Answers a request of `hub.stream` (not a cancel): without `Last-Event-ID` a new run, with
   * the event id of a run the rest of it; a malformed id is a 400, an unknown run a 404.
   */
  answer(request: Request, producer: RunProducer, options: HubStreamOptions): Promise<Response>;
}

/** @internal */
export function createRuns(
  hub: ResolvedHubOptions,
  canceller: RunCanceller,
  reads: LogReader,
): Runs {
  const { engine, onError, runTtlMs, maxRunEvents } = hub;
  const leases = createLeases(hub);

  /**
   * The run's log as its producer writes it: appends chained, so that a producer that does not
   * await still logs in order, each at the next id. Once another writer took one of its ids (a
   * reader declared the producer lost: its lease lapsed, say in a long pause), the run has ended
   * without it: the producer is fenced off, its signal aborts, and it writes nothing more.
   */
  function openLog(runId: string, context: string | undefined) {
    let seq = 0;
    let fenced: HubError | undefined;
    let chain: Promise<unknown> = Promise.resolve();
    // Each append renews the log's TTL; the run's state is renewed here too, at most twice per
    // TTL, so a run that outlives runTtlMs stays resumable and its lease stays checked.
    let stateSetAt = Date.now();
    const append = (stored: StoredEvent): Promise<void> => {
      const id = logId(++seq);
      const next = chain.then(async () => {
        if (fenced) throw fenced;
        try {
          await engine.append(logKey(runId), stored, { id, ttlMs: runTtlMs });
        } catch (error) {
          if (!(EngineError.isInstance(error) && error.code === 'append-conflict')) throw error;
          fenced = new HubError(
            'producer-lost',
            `The run ${runId} was ended without this producer: its lease lapsed.`,
            { cause: error },
          );
          canceller.fail(runId, fenced);
          // The reader that ended the run marked it finished; a renewal of ours in between may
          // have marked it running again.
          await engine.setValue(stateKey(runId), 'finished', runTtlMs).catch(onError);
          throw fenced;
        }
        if (!isTerminal(stored) && Date.now() - stateSetAt > runTtlMs / 2) {
          stateSetAt = Date.now();
          await Promise.all([
            engine.setValue(stateKey(runId), 'running', runTtlMs),
            keepContext(runId, context),
          ]);
        }
      });
      chain = next.catch(() => {});
      return next;
    };
    return {
      append,
      /** Settles when every append made so far has settled. */
      drained: (): Promise<unknown> => chain,
      get length() {
        return seq;
      },
      get fenced() {
        return fenced;
      },
    };
  }

  /** What the run's observer keeps with it, for as long as the run (renewed with its state). */
  function keepContext(runId: string, context: string | undefined): Promise<void> | undefined {
    return context === undefined
      ? undefined
      : engine.setValue(contextKey(runId), context, runTtlMs);
  }

  /** Ends a run that failed to start with its error event (the first entry of its log). */
  async function failUnstarted(runId: string, error: unknown): Promise<void> {
    await engine.append(
      logKey(runId),
      { event: 'error', data: JSON.stringify(hub.publicError(error)) },
      { id: logId(1), ttlMs: runTtlMs },
    );
    await engine.setValue(stateKey(runId), 'finished', runTtlMs);
  }

  /** Starts a run: its id, and what its observer keeps with it. */
  async function start(
    request: Request,
    producer: RunProducer,
    waitUntil: HubStreamOptions['waitUntil'],
    checks: WriterChecks | undefined,
    runId: string,
  ): Promise<{ context: string | undefined }> {
    const observer = hub.observe?.run?.({ id: runId, request } satisfies ObservedRunStart);
    const context = observer?.context;
    let lease: { release(): void } | undefined;
    try {
      // The lease first: a reader that finds the run running finds its lease too.
      lease = await leases.hold(runId);
      await Promise.all([
        engine.setValue(stateKey(runId), 'running', runTtlMs),
        keepContext(runId, context),
      ]);
    } catch (error) {
      lease?.release();
      observer?.end('error', error);
      throw error;
    }
    const signal = canceller.register(runId);
    const log = openLog(runId, context);
    // Checked at the door, synchronously (as createEventStream's send): nothing is stored that a
    // reader could not send. The limit applies to the producer's events only: the terminal event
    // must always fit, or the run's readers would wait for an end that never comes.
    const send = (event: EventStreamEvent): Promise<void> => {
      const stored = storedEventOf(event, 'run.send');
      if (log.length >= maxRunEvents) {
        return Promise.reject(
          new HubError('run-too-long', `A run may log at most ${maxRunEvents} events.`),
        );
      }
      observer?.event();
      return log.append(stored);
    };
    const plain: RunWriter = {
      send,
      progress: (progress) => send({ event: 'progress', data: progress }),
      signal,
      runId,
      request,
    };
    const writer = checks ? checkedWriter(plain, checks) : plain;
    const done = settle(producer, writer, log, lease, checks, observer).catch((error: unknown) => {
      if (!HubError.isInstance(error) || error.code !== 'producer-lost') onError(error);
    });
    waitUntil?.(done);
    return { context };
  }

  /**
   * Runs the producer to its end, then logs the run's terminal event: `done` with its result (or
   * `{"cancelled":true}`), or `error` with its public error; nothing when it was fenced off (a
   * reader ended the run already).
   */
  async function settle(
    producer: RunProducer,
    writer: RunWriter,
    log: ReturnType<typeof openLog>,
    lease: { release(): void },
    checks: WriterChecks | undefined,
    observer: RunObserver | undefined,
  ): Promise<void> {
    const { runId, signal } = writer;
    let terminal: StoredEvent;
    let reason: RunEndReason = 'completed';
    let failure: unknown;
    try {
      const go = () => runProducer(producer, writer, onError);
      const within = observer?.within;
      let result = await (within ? within.call(observer, go) : go());
      if (checks) result = await checks.result(result);
      terminal = { event: 'done', data: serializeEventData(result ?? {}) ?? '{}' };
      // A producer that returns once cancelled still ran a cancelled run (for its observer).
      if (signal.aborted) reason = 'cancelled';
    } catch (error) {
      if (signal.aborted && !log.fenced) {
        reason = 'cancelled';
        terminal = { event: 'done', data: CANCELLED };
      } else {
        if (!log.fenced) onError(error);
        reason = 'error';
        failure = error;
        terminal = { event: 'error', data: JSON.stringify(hub.publicError(error)) };
      }
    } finally {
      lease.release();
    }
    try {
      // Finished before the terminal event is logged: whoever sees `done` can no longer cancel.
      canceller.unregister(runId);
      await log.drained(); // no renewal of the running state may land after `finished`
      if (log.fenced) {
        reason = 'error';
        failure = log.fenced;
        return;
      }
      await Promise.all([
        engine.setValue(stateKey(runId), 'finished', runTtlMs),
        keepContext(runId, observer?.context),
      ]);
      await log.append(terminal);
    } catch (error) {
      reason = 'error';
      failure ??= error;
      throw error;
    } finally {
      observer?.end(reason, failure);
    }
  }

  /** A response of the run: its log after `after` (all of it without), up to its terminal event. */
  function read(
    request: Request,
    runId: string,
    after: string | undefined,
    options: Omit<HubStreamOptions, 'waitUntil'>,
    context: string | undefined,
  ): Response {
    const headers = new Headers(options.headers);
    headers.set(RUN_ID_HEADER, runId);
    let cancelled = false;
    const observe = options.observe ?? hub.observe?.stream;
    const run = { id: runId, resumed: after !== undefined, context };
    return createEventStream(
      request,
      async (stream) => {
        const lease = leases.watch(runId, after !== undefined);
        try {
          await followLog({
            engine,
            reads,
            key: logKey(runId),
            after,
            signal: stream.signal,
            onError,
            async take(entry) {
              lease.saw();
              const event = clientEventOf(entry, eventIdOf(runId, entry.id));
              if (HubError.isInstance(event)) {
                onError(event); // skipped: failing on it would fail every resume the same way
                return false;
              }
              await stream.send(event);
              if (!isTerminal(entry.event)) return false;
              cancelled = entry.event.event === 'done' && entry.event.data === CANCELLED;
              return true;
            },
          });
        } finally {
          lease.stop();
        }
      },
      {
        ...options,
        headers,
        terminalEvents: false,
        observe: observe && observeRun(observe, run, () => cancelled),
      },
    );
  }

  return {
    async answer(request, producer, hubOptions) {
      const { waitUntil, contract, validate, ...options } = hubOptions as HubStreamOptions &
        Partial<WithContract>;
      const lastEventId = readLastEventId(request);
      if (lastEventId === '') {
        const runId = randomRunId();
        let claim: string | undefined;
        try {
          claim = await idempotencyKeyOf(request);
        } catch (error) {
          return errorAnswer(request, error, options.cors);
        }
        // The same request again (its key claimed already): the run it started, from its start.
        if (claim !== undefined) {
          const claimed = await claimRun(engine, claim, runId, runTtlMs);
          if (claimed !== runId) {
            const observed = (options.observe ?? hub.observe?.stream) !== undefined;
            const context = observed ? await engine.getValue(contextKey(claimed)) : undefined;
            return read(request, claimed, logId(0), options, context);
          }
        }
        const checks = contract && contractChecksOf({ contract, validate }, 'hub.stream');
        let started: { context: string | undefined };
        try {
          started = await start(request, producer, waitUntil, checks, runId);
        } catch (error) {
          // The key names this run now: a retry with it must read this failure, not wait for a
          // run that will never come.
          if (claim !== undefined) await failUnstarted(runId, error).catch(onError);
          throw error;
        }
        return read(request, runId, undefined, options, started.context);
      }
      const resume = parseRunEventId(lastEventId);
      if (!resume) {
        return errorAnswer(
          request,
          new RequestError(
            'bad-request',
            `Last-Event-ID ${JSON.stringify(lastEventId.slice(0, 64))} is not an event id of a run (<runId>.<n>).`,
          ),
          options.cors,
        );
      }
      // A 404 (not a 200 with an error event) ends every kind of client: a native EventSource
      // stops at a status other than 200, where an error event would make it reconnect forever.
      // What the run's observer kept is read only when someone observes this response.
      const observed = (options.observe ?? hub.observe?.stream) !== undefined;
      const [state, context] = await Promise.all([
        engine.getValue(stateKey(resume.runId)),
        observed ? engine.getValue(contextKey(resume.runId)) : undefined,
      ]);
      if (!state) {
        return errorAnswer(
          request,
          new HubError(
            'run-expired',
            `The stream ${JSON.stringify(lastEventId)} cannot be resumed: its run is unknown or expired. Start a new request.`,
          ),
          options.cors,
        );
      }
      return read(request, resume.runId, logId(resume.seq), options, context);
    },
  };
}

/**
 * The observer of a run's response: the stream's, told which run it streams, and `cancelled`
 * (not `completed`) when what it delivered was the end of a cancelled run.
 */
function observeRun(
  observe: ObserveStream,
  run: { id: string; resumed: boolean; context: string | undefined },
  cancelled: () => boolean,
): ObserveStream {
  return (stream) => {
    const observer = observe({ request: stream.request, run });
    if (observer === undefined) return undefined;
    const wrapped: StreamObserver = {
      event: () => observer.event(),
      sent: (bytes) => observer.sent(bytes),
      end: (reason, error) =>
        observer.end(reason === 'completed' && cancelled() ? 'cancelled' : reason, error),
    };
    if (observer.within) wrapped.within = (go) => observer.within!(go);
    return wrapped;
  };
}
