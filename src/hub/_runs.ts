/**
 * Runs: a producer runs detached from the connection and appends its events to the run's log;
 * every response of the run (the first one, and every resume, on any instance) follows that log
 * (src/hub/_catch-up.ts). While the producer runs, its instance renews a lease in the engine; a
 * reader that finds the lease lapsed ends the run once, for every reader (`producer-lost`), and a
 * producer that was only paused finds its next id taken and is fenced off.
 *
 * Ids: a run id is 128 random bits as 22 base64url characters (it grants read access); the log's
 * ids are `0-<seq>`, explicit because the producer is the log's only writer; a client sees
 * `<runId>.<seq>`, so that its `Last-Event-ID` alone finds the run on any instance.
 */
import { runProducer } from '../_internal/run-producer.ts';
import { serializeEventData } from '../_internal/serialize-event.ts';
import { unrefTimer } from '../_internal/timers.ts';
import { EngineError, HubError, RequestError } from '../errors.ts';
import { createEventStream, readLastEventId } from '../server/create-event-stream.ts';
import type { EventStreamEvent } from '../server/types.ts';
import { RUN_ID_HEADER } from './_cancel-endpoint.ts';
import { followLog } from './_catch-up.ts';
import { errorAnswer } from './_error-answer.ts';
import { type RunCanceller, runStateKey } from './_run-cancel.ts';
import { clientEventOf, isTerminal, parseRunEventId, storedEventOf } from './_validate.ts';
import type { StoredEvent } from './engine.ts';
import type { ResolvedHubOptions } from './options.ts';
import type { HubStreamOptions, RunProducer, RunWriter } from './types.ts';

/** The runs of one hub. */
export interface Runs {
  /**
   * Answers a request of `hub.stream` (not a cancel): without `Last-Event-ID` a new run, with
   * the event id of a run the rest of it; a malformed id is a 400, an unknown run a 404.
   */
  answer(request: Request, producer: RunProducer, options: HubStreamOptions): Promise<Response>;
}

const logKey = (runId: string) => `run:${runId}:log`;
const leaseKey = (runId: string) => `lease:${runId}`;
/** The log id of a run's `seq`th entry (counted from 1). */
const logId = (seq: number) => `0-${seq}`;
const seqOf = (id: string) => Number(id.slice(id.indexOf('-') + 1));
/** The id a client sees of a run's log entry: `<runId>.<seq>`. */
const eventIdOf = (runId: string, id: string) => `${runId}.${id.slice(2)}`;

/** @internal */
export function createRuns(hub: ResolvedHubOptions, canceller: RunCanceller): Runs {
  const { engine, onError, runTtlMs, maxRunEvents, producerLeaseMs, leaseRenewMs } = hub;

  /**
   * The run's log as its producer writes it: appends chained, so that a producer that does not
   * await still logs in order, each at the next id. Once another writer took one of its ids (a
   * reader declared the producer lost: its lease lapsed, say in a long pause), the run has ended
   * without it: the producer is fenced off, its signal aborts, and it writes nothing more.
   */
  function openLog(runId: string) {
    let seq = 0;
    let fenced: HubError | undefined;
    let chain: Promise<unknown> = Promise.resolve();
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
          throw fenced;
        }
      });
      chain = next.catch(() => {});
      return next;
    };
    return {
      append,
      get length() {
        return seq;
      },
      get fenced() {
        return fenced;
      },
    };
  }

  async function start(
    request: Request,
    producer: RunProducer,
    waitUntil: HubStreamOptions['waitUntil'],
  ): Promise<string> {
    const runId = randomId();
    // The lease first: a reader that finds the run running finds its lease too.
    await engine.setValue(leaseKey(runId), '1', producerLeaseMs);
    await engine.setValue(runStateKey(runId), 'running', runTtlMs);
    const signal = canceller.register(runId);
    const renewal = setInterval(() => {
      engine.setValue(leaseKey(runId), '1', producerLeaseMs).catch(onError);
    }, leaseRenewMs);
    unrefTimer(renewal);
    const log = openLog(runId);
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
      return log.append(stored);
    };
    const writer: RunWriter = {
      send,
      progress: (progress) => send({ event: 'progress', data: progress }),
      signal,
      runId,
      request,
    };
    const done = (async () => {
      let terminal: StoredEvent;
      try {
        const result = await runProducer(producer, writer, onError);
        terminal = { event: 'done', data: serializeEventData(result ?? {}) ?? '{}' };
      } catch (error) {
        if (signal.aborted && !log.fenced) {
          terminal = { event: 'done', data: '{"cancelled":true}' };
        } else {
          if (!log.fenced) onError(error);
          terminal = { event: 'error', data: JSON.stringify(hub.publicError(error)) };
        }
      } finally {
        clearInterval(renewal);
      }
      // Finished before the terminal event is logged: whoever sees `done` can no longer cancel.
      canceller.unregister(runId);
      if (log.fenced) return; // the run was ended for its readers already
      await engine.setValue(runStateKey(runId), 'finished', runTtlMs);
      await log.append(terminal);
    })().catch((error: unknown) => {
      if (!HubError.isInstance(error) || error.code !== 'producer-lost') onError(error);
    });
    waitUntil?.(done);
    return runId;
  }

  /**
   * Ends a running run whose lease lapsed, once, for every reader: an `error` event
   * `producer-lost` appended after the last entry. Two readers doing it at once append the same
   * entry at the same id, which the engine stores once; a producer that was only paused finds its
   * next id taken and is fenced off.
   */
  async function endIfProducerLost(runId: string): Promise<void> {
    if ((await engine.getValue(runStateKey(runId))) !== 'running') return;
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
    await engine.setValue(runStateKey(runId), 'finished', runTtlMs);
  }

  /**
   * While a reader waits, checks the run's lease every `leaseRenewMs` in which no entry arrived
   * (a producer that logs needs no check), and at once for a resume.
   */
  function watchLease(runId: string, immediately: boolean) {
    let seen = false;
    let checking = false;
    const check = () => {
      if (seen || checking) {
        seen = false;
        return;
      }
      checking = true;
      endIfProducerLost(runId)
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
  }

  /** A response of the run: its log after `after` (all of it without), up to its terminal event. */
  function read(
    request: Request,
    runId: string,
    after: string | undefined,
    options: Omit<HubStreamOptions, 'waitUntil'>,
  ): Response {
    const headers = new Headers(options.headers);
    headers.set(RUN_ID_HEADER, runId);
    return createEventStream(
      request,
      async (stream) => {
        const lease = watchLease(runId, after !== undefined);
        try {
          await followLog({
            engine,
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
              return isTerminal(entry.event);
            },
          });
        } finally {
          lease.stop();
        }
      },
      { ...options, headers, terminalEvents: false },
    );
  }

  return {
    async answer(request, producer, { waitUntil, ...options }) {
      const lastEventId = readLastEventId(request);
      if (lastEventId === '') {
        return read(request, await start(request, producer, waitUntil), undefined, options);
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
      if (!(await engine.getValue(runStateKey(resume.runId)))) {
        return errorAnswer(
          request,
          new HubError(
            'run-expired',
            `The stream ${JSON.stringify(lastEventId)} cannot be resumed: its run is unknown or expired. Start a new request.`,
          ),
          options.cors,
        );
      }
      return read(request, resume.runId, logId(resume.seq), options);
    },
  };
}

/** 128 random bits as 22 base64url characters: run ids grant read access, so they must not be guessable. */
function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
