import { runProducer } from '../_internal/run-producer.ts';
import { serializeEventData } from '../_internal/serialize-event.ts';
import { createEventStream, readLastEventId } from '../server/create-event-stream.ts';
import { type EventStreamOptions, resolveEventStreamOptions } from '../server/options.ts';
import { defaultPublicError, type PublicError } from '../server/public-error.ts';
import type { EventStreamEvent, EventStreamProducer, EventStreamWriter } from '../server/types.ts';
import type { HubEngine } from './engine.ts';
import { createMemoryEngine } from './memory-engine.ts';
import { createRunCanceller } from './run-cancel.ts';
import { type TailStart, tailLog, toClientEvent } from './tail.ts';
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

const RUN_ID = /^[A-Za-z0-9_-]{22}$/;

/**
 * Creates a hub.
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
  const onError = options.onError ?? ((error: unknown) => console.error('ssekit hub:', error));
  const publicError = (error: unknown) => options.publicError?.(error) ?? defaultPublicError(error);
  const runs = createRunCanceller(engine, runTtlMs);
  const topics = new Topics(engine, onError);
  // Subscriptions without options share one resolved set (one per connection adds up).
  const defaultSubscribeOptions = resolveEventStreamOptions({ terminalEvents: false });

  async function startRun(
    request: Request,
    producer: RunProducer,
    waitUntil?: (promise: Promise<unknown>) => void,
  ) {
    const runId = randomId();
    await engine.setValue(`run:${runId}`, 'running', runTtlMs);
    const signal = runs.register(runId);
    let seq = 0;
    let chain: Promise<unknown> = Promise.resolve();
    // Appends are chained, so a producer that does not await still logs in order.
    const append = (event: EventStreamEvent): Promise<void> => {
      const id = `0-${++seq}`;
      const stored = {
        data: serializeEventData(event.data),
        ...(event.event === undefined ? {} : { event: event.event }),
      };
      const next = chain.then(() =>
        engine.append(`run:${runId}:log`, stored, { id, ttlMs: runTtlMs }),
      );
      chain = next.catch(() => {});
      return next.then(() => undefined);
    };
    // The limit applies to the producer's events only: the terminal event must always fit, or
    // the run's readers would wait for an end that never comes.
    const send = (event: EventStreamEvent): Promise<void> =>
      seq >= maxRunEvents
        ? Promise.reject(
            Object.assign(new Error(`A run may log at most ${maxRunEvents} events.`), {
              expose: true,
              code: 'run-too-long',
            }),
          )
        : append(event);
    const writer: RunWriter = {
      send,
      progress: (progress) => send({ event: 'progress', data: progress }),
      signal,
      runId,
      request,
    };
    const done = (async () => {
      let terminal: EventStreamEvent;
      try {
        const result = await runProducer(producer, writer, onError);
        terminal = { event: 'done', data: serializeEventData(result ?? {}) };
      } catch (error) {
        if (signal.aborted) {
          terminal = { event: 'done', data: { cancelled: true } };
        } else {
          onError(error);
          terminal = { event: 'error', data: publicError(error) };
        }
      }
      // Finished before the terminal event is logged: whoever sees `done` can no longer cancel.
      runs.unregister(runId);
      await engine.setValue(`run:${runId}`, 'finished', runTtlMs);
      await append(terminal);
    })().catch(onError);
    waitUntil?.(done);
    return runId;
  }

  function streamRun(
    request: Request,
    runId: string,
    start: TailStart,
    options: HubStreamOptions,
  ): Response {
    return createEventStream(
      request,
      async (stream: EventStreamWriter) => {
        for await (const entry of tailLog({
          engine,
          key: `run:${runId}:log`,
          start,
          signal: stream.signal,
          onError,
        })) {
          await stream.send(toClientEvent(entry, `${runId}.${entry.id.slice(2)}`));
          if (entry.event.event === 'done' || entry.event.event === 'error') return;
        }
      },
      { ...options, terminalEvents: false },
    );
  }

  function errorResponse(
    request: Request,
    payload: PublicError,
    options: EventStreamOptions,
  ): Response {
    return createEventStream(request, [{ event: 'error', data: payload }], {
      ...options,
      terminalEvents: false,
    });
  }

  const hub: Hub = {
    async stream(request, producer, streamOptions = {}) {
      const { waitUntil, ...options } = streamOptions;
      const lastEventId = readLastEventId(request);
      if (lastEventId === '') {
        const runId = await startRun(request, producer, waitUntil);
        return streamRun(request, runId, { from: 'beginning' }, options);
      }
      const runId = hub.runIdOf(lastEventId);
      const state = runId && (await engine.getValue(`run:${runId}`));
      if (!runId || !state) {
        return errorResponse(
          request,
          {
            message: `The stream ${JSON.stringify(lastEventId)} cannot be resumed: its run is unknown or expired. Start a new request.`,
            code: 'run-expired',
          },
          options,
        );
      }
      return streamRun(
        request,
        runId,
        { from: 'after', id: `0-${lastEventId.slice(runId.length + 1)}` },
        options,
      );
    },

    cancel: async (runId) => (await runs.cancel(runId)) === 'running',

    async handleCancel(request) {
      if (request.method !== 'POST' && request.method !== 'DELETE') {
        return json(
          { error: { code: 'method-not-allowed', message: 'Use POST or DELETE.' } },
          405,
          { allow: 'POST, DELETE' },
        );
      }
      const runId = await cancelTarget(request, hub);
      if (!runId) {
        return json(
          {
            error: {
              code: 'bad-request',
              message:
                'Name the run: ?runId=, a JSON body { "runId" } or { "lastEventId" }, or Last-Event-ID.',
            },
          },
          400,
        );
      }
      const state = await runs.cancel(runId);
      if (state === 'running') return json({ cancelled: true, runId }, 202);
      if (state === 'finished') {
        return json({ error: { code: 'run-finished', message: 'The run already finished.' } }, 409);
      }
      return json({ error: { code: 'run-expired', message: 'No such run, or it expired.' } }, 404);
    },

    runIdOf(eventId) {
      const dot = eventId.indexOf('.');
      const runId = dot === -1 ? '' : eventId.slice(0, dot);
      return RUN_ID.test(runId) && /^\d+$/.test(eventId.slice(dot + 1)) ? runId : undefined;
    },

    publish(topic, event) {
      const stored = {
        data: serializeEventData(event.data),
        ...(event.event === undefined ? {} : { event: event.event }),
      };
      return engine.append(`topic:${topic}`, stored, {
        maxLen: topicMaxEvents,
        maxAgeMs: topicMaxAgeMs,
      });
    },

    async subscribe(request, topic, subscribeOptions) {
      let resolved = defaultSubscribeOptions;
      let logic: SubscriptionLogic = NO_LOGIC;
      if (subscribeOptions !== undefined) {
        const { filter, coalesce, ...options } = subscribeOptions;
        resolved = resolveEventStreamOptions({ ...options, terminalEvents: false });
        logic = { filter, coalesce };
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

async function cancelTarget(request: Request, hub: Hub): Promise<string | undefined> {
  const url = new URL(request.url);
  const fromQuery = url.searchParams.get('runId');
  if (fromQuery) return fromQuery;
  let body: { runId?: unknown; lastEventId?: unknown } = {};
  if ((request.headers.get('content-type') ?? '').includes('json')) {
    body = ((await request.json().catch(() => ({}))) ?? {}) as typeof body;
  }
  if (typeof body.runId === 'string') return body.runId;
  const eventId =
    typeof body.lastEventId === 'string' ? body.lastEventId : request.headers.get('last-event-id');
  return eventId ? hub.runIdOf(eventId) : undefined;
}

function json(body: unknown, status: number, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-store',
      ...headers,
    },
  });
}

/** 128 random bits as 22 base64url characters: run ids grant read access, so they must not be guessable. */
function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
