import { isJsonType } from '../_internal/http.ts';
import { runProducer } from '../_internal/run-producer.ts';
import { serializeEventData } from '../_internal/serialize-event.ts';
import { unrefTimer } from '../_internal/timers.ts';
import { EngineError, HubError, RequestError } from '../errors.ts';
import { corsHeaders } from '../server/cors.ts';
import { createEventStream, readLastEventId } from '../server/create-event-stream.ts';
import { jsonErrorResponse } from '../server/json-error-response.ts';
import { type EventStreamOptions, resolveEventStreamOptions } from '../server/options.ts';
import { defaultPublicError, type PublicError } from '../server/public-error.ts';
import { readJsonBody } from '../server/read-json-body.ts';
import type { EventStreamEvent, EventStreamProducer, EventStreamWriter } from '../server/types.ts';
import {
  clientEventOf,
  isTerminal,
  parseRunEventId,
  RUN_ID,
  storedEventOf,
  topicProblem,
} from './_validate.ts';
import { type HubEngine, isLogId, type StoredEvent } from './engine.ts';
import { createMemoryEngine } from './memory-engine.ts';
import { createRunCanceller } from './run-cancel.ts';
import { type TailStart, tailLog } from './tail.ts';
import { type SubscriptionLogic, Topics } from './topics.ts';

const NO_LOGIC: SubscriptionLogic = { filter: undefined, coalesce: undefined };

/** Retention of topic logs: by count and by age. */
export interface RetentionOptions {
  /** @default 1_000 */
  maxEvents?: number;
  /** @default 3_600_000 (1 hour) */
  maxAgeMs?: number;
}

/** Options of {@link createHub}. */
export interface HubOptions {
  /** Where logs live. @default createMemoryEngine() (one process) */
  engine?: HubEngine;
  /** Topic retention: how far back `Last-Event-ID` can replay. */
  retention?: RetentionOptions;
  /**
   * A run (and its log) expires this long after its last event: a resume later than that gets the
   * `run-expired` error event.
   * @default 3_600_000 (1 hour)
   */
  runTtlMs?: number;
  /** The most events one run may log; a producer past it fails with `run-too-long`. @default 100_000 */
  maxRunEvents?: number;
  /**
   * How long a running producer's lease lasts: the producer's instance renews it every
   * `leaseRenewMs` while the producer runs. When an instance dies (a recycled serverless
   * instance, a deploy, an out-of-memory kill) the lease lapses, and the first reader to notice
   * ends the run for every reader on every instance with an `error` event `producer-lost`: never
   * a hang, never a silent re-run. Readers check it as often as it is renewed, while no event
   * arrives.
   * @default 10_000
   */
  producerLeaseMs?: number;
  /** How often the lease is renewed (and checked by idle readers). @default a third of `producerLeaseMs` */
  leaseRenewMs?: number;
  /** Receives producer failures (with stack) and engine failures. @default console.error */
  onError?: (error: unknown) => void;
  /** Maps a producer's error to the payload of its `error` event. @default defaultPublicError */
  publicError?: (error: unknown) => PublicError | undefined;
}

/**
 * What a run's producer writes to: the log of the run, not one HTTP response. The writer of a
 * plain stream (`EventStreamWriter`) with what a run has (`send` and `progress`, which resolve
 * once the event is stored and whose id the hub assigns; `coalesce` does not apply, a run's log
 * keeps every event), plus the run's id.
 */
export interface RunWriter extends Pick<EventStreamWriter, 'send' | 'progress' | 'request'> {
  /** Aborts when the run is cancelled (from any instance) or the hub closes: not on disconnects. */
  readonly signal: AbortSignal;
  /** The run's id (unguessable: it grants read access to the run). */
  readonly runId: string;
}

/**
 * A run's producer, in any form a plain stream's producer takes (see `EventStreamProducer`),
 * given the run's writer: its return value is the payload of `done`.
 */
export type RunProducer = EventStreamProducer<RunWriter>;

/** Options of {@link Hub.stream}: the server's stream options, plus `waitUntil`. */
export interface HubStreamOptions extends Omit<EventStreamOptions, 'terminalEvents'> {
  /**
   * Keeps the detached producer alive on platforms that end work with the response (Vercel,
   * Netlify, Cloudflare `ctx.waitUntil`): it gets the producer's promise.
   */
  waitUntil?: (promise: Promise<unknown>) => void;
}

/** Options of {@link Hub.subscribe}. */
export interface SubscribeOptions extends Omit<EventStreamOptions, 'terminalEvents'> {
  /** Only events for which it returns true reach this subscriber. */
  filter?: (event: EventStreamEvent) => boolean;
  /**
   * A coalescing key per event: while this subscriber is behind, a queued event with the same key
   * is replaced by the newer one (latest value wins, for dashboards).
   */
  coalesce?: (event: EventStreamEvent) => string | undefined;
}

/** A hub: resumable runs and broadcast topics over one engine. */
export interface Hub {
  /**
   * Answers a request with a resumable run. Without `Last-Event-ID`, starts `producer` detached
   * from the connection and streams its log; with the `Last-Event-ID` of an earlier response (on
   * any instance), streams the same run from just after that event, without starting it again.
   */
  stream(request: Request, producer: RunProducer, options?: HubStreamOptions): Promise<Response>;
  /** Cancels a run wherever it runs: true if it was running; false if finished, unknown or expired. */
  cancel(runId: string): Promise<boolean>;
  /**
   * A handler for a cancel endpoint (POST or DELETE): the run id from the `runId` query
   * parameter, a JSON body `{ "runId" }` or `{ "lastEventId" }`, or the `Last-Event-ID` header.
   */
  handleCancel(request: Request): Promise<Response>;
  /** The run id inside an event id of a run, or undefined. */
  runIdOf(eventId: string): string | undefined;
  /** Appends an event to a topic; resolves with its id once stored. */
  publish(topic: string, event: EventStreamEvent): Promise<string>;
  /** Answers a request with a topic subscription: replay after `Last-Event-ID`, then live. */
  subscribe(request: Request, topic: string, options?: SubscribeOptions): Promise<Response>;
  /** Cancels local runs and, for an engine the hub created, closes it. */
  close(): Promise<void>;
}

/** The request header a client sends, with the run id, to cancel a run (CONTRACTS.md). */
const CANCEL_HEADER = 'ssekit-cancel';
/** The response header that names the run of every run response. */
const RUN_ID_HEADER = 'ssekit-run-id';
// setTimeout fires at once for delays above 2^31 - 1 ms: refuse them.
const MAX_TIMER_MS = 2_147_483_647;

/**
 * Creates a hub. Construction does no I/O and starts no timer (workerd refuses both at module
 * scope): engines connect, sweep and subscribe on first use.
 *
 * @example
 * ```ts
 * import { createHub } from 'ssekit/hub';
 *
 * const hub = createHub();
 * export const POST = (request: Request) =>
 *   hub.stream(request, async (run) => {
 *     for (const token of ['Hel', 'lo']) await run.send({ event: 'token', data: token });
 *   }, { maxDurationMs: 40_000 });
 * ```
 */
export function createHub(options: HubOptions = {}): Hub {
  const ownsEngine = options.engine === undefined;
  const engine = options.engine ?? createMemoryEngine();
  const runTtlMs = options.runTtlMs ?? 3_600_000;
  const maxRunEvents = options.maxRunEvents ?? 100_000;
  const topicMaxEvents = options.retention?.maxEvents ?? 1_000;
  const topicMaxAgeMs = options.retention?.maxAgeMs ?? 3_600_000;
  const leaseMs = options.producerLeaseMs ?? 10_000;
  const renewMs = options.leaseRenewMs ?? Math.max(1, Math.floor(leaseMs / 3));
  checkDuration('runTtlMs', runTtlMs);
  checkDuration('producerLeaseMs', leaseMs);
  checkDuration('leaseRenewMs', renewMs);
  if (renewMs >= leaseMs) {
    throw new TypeError(
      `leaseRenewMs (${renewMs}) must be less than producerLeaseMs (${leaseMs}): the lease would lapse between renewals.`,
    );
  }
  const onError = options.onError ?? ((error: unknown) => console.error('ssekit hub:', error));
  const publicError = (error: unknown): PublicError =>
    options.publicError?.(error) ??
    (HubError.isInstance(error)
      ? { message: error.message, code: error.code }
      : defaultPublicError(error));
  const runs = createRunCanceller(engine, runTtlMs);
  const topics = new Topics(engine, onError);
  // Subscriptions without options share one resolved set (one per connection adds up).
  const defaultSubscribeOptions = resolveEventStreamOptions({ terminalEvents: false });
  const logKey = (runId: string) => `run:${runId}:log`;
  const leaseKey = (runId: string) => `lease:${runId}`;

  async function startRun(
    request: Request,
    producer: RunProducer,
    waitUntil?: (promise: Promise<unknown>) => void,
  ) {
    const runId = randomId();
    // The lease first: a reader that finds the run running finds its lease too.
    await engine.setValue(leaseKey(runId), '1', leaseMs);
    await engine.setValue(`run:${runId}`, 'running', runTtlMs);
    const signal = runs.register(runId);
    const renewal = setInterval(() => {
      engine.setValue(leaseKey(runId), '1', leaseMs).catch(onError);
    }, renewMs);
    unrefTimer(renewal);
    let seq = 0;
    // Set when another writer took one of this run's ids: a reader declared the producer lost
    // (its lease lapsed, say in a long pause). The run has ended; this producer is fenced off.
    let fenced: HubError | undefined;
    let chain: Promise<unknown> = Promise.resolve();
    // Appends are chained, so a producer that does not await still logs in order.
    const append = (stored: StoredEvent): Promise<void> => {
      const id = `0-${++seq}`;
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
          runs.fail(runId, fenced);
          throw fenced;
        }
      });
      chain = next.catch(() => {});
      return next;
    };
    // Checked at the door, synchronously (as createEventStream's send): nothing is stored that a
    // reader could not send. The limit applies to the producer's events only: the terminal event
    // must always fit, or the run's readers would wait for an end that never comes.
    const send = (event: EventStreamEvent): Promise<void> => {
      const stored = storedEventOf(event, 'run.send');
      if (seq >= maxRunEvents) {
        return Promise.reject(
          new HubError('run-too-long', `A run may log at most ${maxRunEvents} events.`),
        );
      }
      return append(stored);
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
        if (signal.aborted && !fenced) {
          terminal = { event: 'done', data: '{"cancelled":true}' };
        } else {
          if (!fenced) onError(error);
          terminal = { event: 'error', data: JSON.stringify(publicError(error)) };
        }
      } finally {
        clearInterval(renewal);
      }
      // Finished before the terminal event is logged: whoever sees `done` can no longer cancel.
      runs.unregister(runId);
      if (fenced) return; // the run was ended for its readers already
      await engine.setValue(`run:${runId}`, 'finished', runTtlMs);
      await append(terminal);
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
    if ((await engine.getValue(`run:${runId}`)) !== 'running') return;
    if ((await engine.getValue(leaseKey(runId))) !== undefined) return;
    const key = logKey(runId);
    const last = (await engine.bounds(key))?.last;
    const seq = last === undefined ? 0 : Number(last.slice(last.indexOf('-') + 1));
    if (seq > 0) {
      const [entry] = await engine.range(key, `0-${seq - 1}`, 1);
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
        { id: `0-${seq + 1}`, ttlMs: runTtlMs },
      );
    } catch (error) {
      if (EngineError.isInstance(error) && error.code === 'append-conflict') return; // it lives
      throw error;
    }
    await engine.setValue(`run:${runId}`, 'finished', runTtlMs);
  }

  /**
   * While a reader waits, checks the run's lease every `renewMs` in which no entry arrived (a
   * producer that logs needs no check), and at once for a resume.
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
    const timer = setInterval(check, renewMs);
    unrefTimer(timer);
    if (immediately) check();
    return {
      saw: () => {
        seen = true;
      },
      stop: () => clearInterval(timer),
    };
  }

  function streamRun(
    request: Request,
    runId: string,
    start: TailStart,
    options: HubStreamOptions,
  ): Response {
    const headers = new Headers(options.headers);
    headers.set(RUN_ID_HEADER, runId);
    return createEventStream(
      request,
      async (stream: EventStreamWriter) => {
        const lease = watchLease(runId, start.from === 'after');
        try {
          for await (const entry of tailLog({
            engine,
            key: logKey(runId),
            start,
            signal: stream.signal,
            onError,
          })) {
            lease.saw();
            const event = clientEventOf(entry, `${runId}.${entry.id.slice(2)}`);
            if (HubError.isInstance(event)) {
              onError(event); // skipped: failing on it would fail every resume the same way
              continue;
            }
            await stream.send(event);
            if (isTerminal(entry.event)) return;
          }
        } finally {
          lease.stop();
        }
      },
      { ...options, headers, terminalEvents: false },
    );
  }

  /** A JSON error answer, with the CORS headers the stream would have had. */
  function errorAnswer(request: Request, error: unknown, cors: HubStreamOptions['cors']) {
    return jsonErrorResponse(error, cors ? { headers: corsHeaders(request, cors) } : {});
  }

  /** Answers a cancel request for `runId`: 202, 409 `run-finished`, 404 `run-expired`, 400. */
  async function cancelAnswer(
    request: Request,
    runId: string | undefined,
    cors: HubStreamOptions['cors'],
  ): Promise<Response> {
    if (runId === undefined || !RUN_ID.test(runId)) {
      return errorAnswer(
        request,
        new RequestError(
          'bad-request',
          `${runId === undefined ? 'No run named' : `Not a run id: ${JSON.stringify(runId.slice(0, 64))}`}. Name the run: ?runId=, a JSON body { "runId" } or { "lastEventId" }, Last-Event-ID, or the ${CANCEL_HEADER} header.`,
        ),
        cors,
      );
    }
    const state = await runs.cancel(runId);
    if (state === 'running') {
      const headers = new Headers(cors ? corsHeaders(request, cors) : undefined);
      headers.set('content-type', 'application/json; charset=utf-8');
      headers.set('cache-control', 'no-store');
      headers.set(RUN_ID_HEADER, runId);
      return new Response(JSON.stringify({ cancelled: true, runId }), { status: 202, headers });
    }
    return errorAnswer(
      request,
      state === 'finished'
        ? new HubError('run-finished', 'The run already finished.')
        : new HubError('run-expired', 'No such run, or it expired.'),
      cors,
    );
  }

  const hub: Hub = {
    async stream(request, producer, streamOptions = {}) {
      const { waitUntil, ...options } = streamOptions;
      // A client's stop(): the same request again, naming the run to cancel. Never a new run.
      const cancel = request.headers.get(CANCEL_HEADER);
      if (cancel !== null) return cancelAnswer(request, cancel.trim(), options.cors);
      const lastEventId = readLastEventId(request);
      if (lastEventId === '') {
        const runId = await startRun(request, producer, waitUntil);
        return streamRun(request, runId, { from: 'beginning' }, options);
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
      if (!(await engine.getValue(`run:${resume.runId}`))) {
        return errorAnswer(
          request,
          new HubError(
            'run-expired',
            `The stream ${JSON.stringify(lastEventId)} cannot be resumed: its run is unknown or expired. Start a new request.`,
          ),
          options.cors,
        );
      }
      return streamRun(request, resume.runId, { from: 'after', id: `0-${resume.seq}` }, options);
    },

    cancel: async (runId) => RUN_ID.test(runId) && (await runs.cancel(runId)) === 'running',

    async handleCancel(request) {
      const named = request.headers.get(CANCEL_HEADER);
      if (named !== null) return cancelAnswer(request, named.trim(), undefined);
      if (request.method !== 'POST' && request.method !== 'DELETE') {
        return jsonErrorResponse(
          new RequestError(
            'method-not-allowed',
            `${request.method} is not allowed on a cancel endpoint: use POST or DELETE.`,
          ),
          { headers: { allow: 'POST, DELETE' } },
        );
      }
      let runId: string | undefined;
      try {
        runId = await cancelTarget(request);
      } catch (error) {
        return jsonErrorResponse(error);
      }
      return cancelAnswer(request, runId, undefined);
    },

    runIdOf: (eventId) => parseRunEventId(eventId)?.runId,

    publish(topic, event) {
      const problem = typeof topic === 'string' ? topicProblem(topic) : 'a topic name is a string';
      if (problem !== undefined) {
        throw new TypeError(
          `hub.publish: ${problem} (got ${JSON.stringify(String(topic).slice(0, 64))}).`,
        );
      }
      const stored = storedEventOf(event, 'hub.publish');
      return engine.append(`topic:${topic}`, stored, {
        maxLen: topicMaxEvents,
        maxAgeMs: topicMaxAgeMs,
      });
    },

    async subscribe(request, topic, subscribeOptions) {
      if (typeof topic !== 'string') {
        throw new TypeError(`hub.subscribe: the topic must be a string, got ${typeof topic}.`);
      }
      let resolved = defaultSubscribeOptions;
      let logic: SubscriptionLogic = NO_LOGIC;
      if (subscribeOptions !== undefined) {
        const { filter, coalesce, ...options } = subscribeOptions;
        resolved = resolveEventStreamOptions({ ...options, terminalEvents: false });
        logic = { filter, coalesce };
      }
      const problem = topicProblem(topic);
      if (problem !== undefined) {
        return errorAnswer(
          request,
          new RequestError('bad-request', `Not a topic: ${problem}.`),
          resolved.cors,
        );
      }
      const lastEventId = readLastEventId(request);
      if (lastEventId !== '' && !isLogId(lastEventId)) {
        return errorAnswer(
          request,
          new RequestError(
            'bad-request',
            `Last-Event-ID ${JSON.stringify(lastEventId.slice(0, 64))} is not an event id of a topic (<ms>-<seq>).`,
          ),
          resolved.cors,
        );
      }
      return topics.subscribe(request, `topic:${topic}`, resolved, logic);
    },

    async close() {
      runs.close();
      topics.close();
      if (ownsEngine) await engine.close();
    },
  };
  return hub;
}

/** The run a cancel request names, undefined when it names none; a `RequestError` for a bad body. */
async function cancelTarget(request: Request): Promise<string | undefined> {
  const url = new URL(request.url);
  const fromQuery = url.searchParams.get('runId');
  if (fromQuery !== null) return fromQuery;
  let body: unknown;
  if (isJsonType(request.headers.get('content-type')) && request.body !== null) {
    body = await readJsonBody(request, { maxBytes: 16_384 });
  }
  if (typeof body === 'object' && body !== null) {
    const { runId, lastEventId } = body as { runId?: unknown; lastEventId?: unknown };
    if (typeof runId === 'string') return runId;
    if (typeof lastEventId === 'string') return runIdOrRaw(lastEventId);
  }
  const header = request.headers.get('last-event-id');
  return header ? runIdOrRaw(header) : undefined;
}

// The run id of an event id; the id itself when it is none, so that it is refused as malformed.
function runIdOrRaw(eventId: string): string {
  return parseRunEventId(eventId)?.runId ?? eventId;
}

function checkDuration(name: string, value: unknown): void {
  if (typeof value !== 'number' || !(value >= 1 && value <= MAX_TIMER_MS)) {
    throw new TypeError(
      `${name} must be a number of milliseconds from 1 to ${MAX_TIMER_MS}, got ${String(value)}.`,
    );
  }
}

/** 128 random bits as 22 base64url characters: run ids grant read access, so they must not be guessable. */
function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
