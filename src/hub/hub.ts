/**
 * The hub's face: `createHub` composes runs (`_runs.ts`), topics (`_topics.ts`) and cancels
 * (`_run-cancel.ts`, `_cancel-endpoint.ts`) over one engine, and routes each call to them.
 */
import type { AnyContract } from '../contract/define-contract.ts';
import { HubError, RequestError } from '../errors.ts';
import { contractChecksOf, readLastEventId } from '../server/create-event-stream.ts';
import type { ObserveStream } from '../server/observe.ts';
import {
  type ResolvedEventStreamOptions,
  resolveEventStreamOptions,
  type WithContract,
} from '../server/options.ts';
import type { EventStreamEvent } from '../server/types.ts';
import { CANCEL_HEADER, cancelAnswer, handleCancel } from './_cancel-endpoint.ts';
import { errorAnswer } from './_error-answer.ts';
import { readHistory, type TopicHistoryEvent } from './_history.ts';
import { Multiplex } from './_multiplex.ts';
import { handleTopics } from './_multiplex-control.ts';
import { Presence, type TopicPresence } from './_presence.ts';
import { createRunCanceller } from './_run-cancel.ts';
import { createRuns } from './_runs.ts';
import { SharedReads } from './_shared-reads.ts';
import { type SubscriptionLogic, Topics } from './_topics.ts';
import { parseRunEventId, RUN_ID, storedEventOf, topicProblem } from './_validate.ts';
import { type HubEngine, isLogId } from './engine.ts';
import { type HubOptions, resolveHubOptions } from './options.ts';
import type {
  ContractRunProducer,
  ContractTopicEvent,
  ControlEndpointOptions,
  HistoryOptions,
  HubStreamOptions,
  RunProducer,
  SubscribeManyOptions,
  SubscribeOptions,
} from './types.ts';

/** A hub: resumable runs and broadcast topics over one engine. */
export interface Hub {
  /**
   * The engine the hub runs on (the one you passed, or its own memory engine): for integrations
   * that keep their own small values and logs next to the hub's (ssekit/ai, ssekit/mcp).
   */
  readonly engine: HubEngine;
  /**
   * Answers a request with a resumable run. Without `Last-Event-ID`, starts `producer` detached
   * from the connection and streams its log; with the `Last-Event-ID` of an earlier response (on
   * any instance), streams the same run from just after that event, without starting it again.
   * A request with the `ssekit-cancel` header cancels the run it names instead.
   */
  stream<const C extends AnyContract>(
    request: Request,
    producer: ContractRunProducer<C>,
    options: HubStreamOptions & WithContract<C>,
  ): Promise<Response>;
  stream(request: Request, producer: RunProducer, options?: HubStreamOptions): Promise<Response>;
  /** Cancels a run wherever it runs: true if it was running; false if finished, unknown or expired. */
  cancel(runId: string): Promise<boolean>;
  /**
   * A handler for a cancel endpoint (POST or DELETE): the run id from the `runId` query
   * parameter, a JSON body `{ "runId" }` or `{ "lastEventId" }`, or the `Last-Event-ID` header.
   * With `cors`, preflights are answered and every answer carries the CORS headers.
   */
  handleCancel(request: Request, options?: ControlEndpointOptions): Promise<Response>;
  /** The run id inside an event id of a run, or undefined. */
  runIdOf(eventId: string): string | undefined;
  /**
   * Appends an event to a topic; resolves with its id once stored. With a `contract`, the event is
   * typed by it and checked before it is stored.
   */
  publish<const C extends AnyContract>(
    topic: string,
    event: ContractTopicEvent<C>,
    options: WithContract<C>,
  ): Promise<string>;
  publish(topic: string, event: EventStreamEvent): Promise<string>;
  /** Answers a request with a topic subscription: replay after `Last-Event-ID`, then live. */
  subscribe(request: Request, topic: string, options?: SubscribeOptions): Promise<Response>;
  /**
   * Answers a request with one connection to several topics. Every event id holds the position
   * of every topic (its first entry names the event's topic), so the `Last-Event-ID` alone
   * resumes each topic exactly. The stream starts with `event: subscribed`
   * (`{"connection","topics"}`); the connection id lets `handleTopics` add and remove topics.
   */
  subscribeMany(
    request: Request,
    topics: readonly string[],
    options?: SubscribeManyOptions,
  ): Promise<Response>;
  /**
   * A handler for the control endpoint of multiplexed connections (POST, JSON
   * `{ "connection", "add"?: [...], "remove"?: [...] }`): topics added and removed on the live
   * connection, on any instance; answers 202 with what was added, removed and denied. With
   * `cors` (the settings of the `subscribeMany` endpoint), a page of another origin can call it:
   * preflights are answered and every answer carries the CORS headers.
   */
  handleTopics(request: Request, options?: ControlEndpointOptions): Promise<Response>;
  /** The retained events of a topic: the last `limit`, or the first `limit` after `after`. */
  history(topic: string, options?: HistoryOptions): Promise<TopicHistoryEvent[]>;
  /** How many connections follow a topic, and who, on every instance (`presence: true`). */
  presence(topic: string): Promise<TopicPresence>;
  /** Cancels local runs and, for an engine the hub created, closes it. */
  close(): Promise<void>;
}

const NO_LOGIC: SubscriptionLogic = { filter: undefined, coalesce: undefined, member: undefined };

/**
 * Creates a hub. Its options are validated at once (a `TypeError` names a bad value).
 * Construction does no I/O and starts no timer (workerd refuses both at module scope): engines
 * connect, sweep and subscribe on first use.
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
  const resolved = resolveHubOptions(options);
  const { engine } = resolved;
  const canceller = createRunCanceller(engine, resolved.runTtlMs);
  // Reads of the logs shared by the responses asking the same at once (a reconnect storm).
  const reads = new SharedReads(engine);
  const runs = createRuns(resolved, canceller, reads);
  const presence =
    resolved.presenceTtlMs === undefined
      ? undefined
      : new Presence(engine, resolved.presenceTtlMs, resolved.onError);
  const topics = new Topics(engine, reads, resolved.onError, (key, members) =>
    presence?.changed(key, members),
  );
  const multiplex = new Multiplex({
    engine,
    topics,
    onError: resolved.onError,
    authorize: resolved.authorizeTopic,
    maxTopics: resolved.maxTopicsPerConnection,
  });
  // Subscriptions without options share one resolved set (one per connection adds up).
  const defaultSubscribeOptions = resolveEventStreamOptions({ terminalEvents: false });
  const observeStream = resolved.observe?.stream;
  /** A subscription's options, its observer told which topics it follows. */
  const observed = (
    options: ResolvedEventStreamOptions,
    names: readonly string[],
  ): ResolvedEventStreamOptions => {
    const observe: ObserveStream | undefined = options.observe ?? observeStream;
    if (observe === undefined) return options;
    const topicNames = [...names];
    return { ...options, observe: ({ request }) => observe({ request, topics: topicNames }) };
  };

  return {
    engine,

    async stream(
      request: Request,
      producer: RunProducer | ContractRunProducer<AnyContract>,
      streamOptions: HubStreamOptions | (HubStreamOptions & WithContract) = {},
    ): Promise<Response> {
      // A client's stop(): the same request again, naming the run to cancel. Never a new run.
      const cancel = request.headers.get(CANCEL_HEADER);
      if (cancel !== null) {
        return cancelAnswer(canceller, request, cancel.trim(), streamOptions.cors);
      }
      return runs.answer(request, producer as RunProducer, streamOptions);
    },

    cancel: async (runId) => RUN_ID.test(runId) && (await canceller.cancel(runId)) === 'running',

    handleCancel: (request, controlOptions) => handleCancel(canceller, request, controlOptions),

    runIdOf: (eventId) => parseRunEventId(eventId)?.runId,

    publish(topic: string, event: EventStreamEvent, publishOptions?: WithContract) {
      checkTopic('hub.publish', topic);
      const append = (ready: EventStreamEvent) =>
        engine.append(`topic:${topic}`, storedEventOf(ready, 'hub.publish'), {
          maxLen: resolved.topicMaxEvents,
          maxAgeMs: resolved.topicMaxAgeMs,
        });
      const checks = contractChecksOf(publishOptions, 'hub.publish');
      if (checks === undefined) return append(event);
      // A violation rejects the publish (nothing is stored); a programmer mistake still throws.
      try {
        return Promise.resolve(checks.event(event)).then(append);
      } catch (error) {
        if (error instanceof TypeError) throw error;
        return Promise.reject(error);
      }
    },

    async subscribe(request, topic, subscribeOptions) {
      if (typeof topic !== 'string') {
        throw new TypeError(`hub.subscribe: the topic must be a string, got ${typeof topic}.`);
      }
      let streamOptions = defaultSubscribeOptions;
      let logic = NO_LOGIC;
      if (subscribeOptions !== undefined) {
        const { filter, coalesce, member, ...rest } = subscribeOptions;
        streamOptions = resolveEventStreamOptions({ ...rest, terminalEvents: false });
        logic = { filter, coalesce, member };
      }
      const problem = topicProblem(topic);
      if (problem !== undefined) {
        return errorAnswer(
          request,
          new RequestError('bad-request', `Not a topic: ${problem}.`),
          streamOptions.cors,
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
          streamOptions.cors,
        );
      }
      const { allowed } = await multiplex.authorize([topic], request);
      if (allowed.length === 0) {
        return errorAnswer(
          request,
          new HubError('topic-forbidden', `Not allowed to subscribe to ${JSON.stringify(topic)}.`),
          streamOptions.cors,
        );
      }
      streamOptions = observed(streamOptions, [topic]);
      return topics.subscribe(request, `topic:${topic}`, streamOptions, logic);
    },

    async subscribeMany(request, names, manyOptions) {
      if (!Array.isArray(names)) {
        throw new TypeError(
          `hub.subscribeMany: the topics must be an array of names, got ${typeof names}.`,
        );
      }
      let streamOptions = defaultSubscribeOptions;
      if (manyOptions !== undefined) {
        const { filter: _filter, coalesce: _coalesce, member: _member, ...rest } = manyOptions;
        streamOptions = resolveEventStreamOptions({ ...rest, terminalEvents: false });
      }
      return multiplex.open(request, names, observed(streamOptions, names), {
        filter: manyOptions?.filter,
        coalesce: manyOptions?.coalesce,
        member: manyOptions?.member,
      });
    },

    handleTopics: (request, controlOptions) => handleTopics(multiplex, request, controlOptions),

    async history(topic, historyOptions = {}) {
      checkTopic('hub.history', topic);
      const { limit = 100, after } = historyOptions;
      if (!Number.isSafeInteger(limit) || limit < 1 || limit > 10_000) {
        throw new TypeError(`hub.history: limit must be an integer from 1 to 10000, got ${limit}.`);
      }
      if (after !== undefined && (typeof after !== 'string' || !isLogId(after))) {
        throw new TypeError(
          `hub.history: after must be a topic event id (<ms>-<seq>), got ${JSON.stringify(after)}.`,
        );
      }
      return readHistory(engine, `topic:${topic}`, after, limit, resolved.onError);
    },

    async presence(topic) {
      checkTopic('hub.presence', topic);
      if (presence === undefined) {
        throw new TypeError(
          'hub.presence: presence is off; turn it on with createHub({ presence: true }).',
        );
      }
      return presence.read(`topic:${topic}`);
    },

    async close() {
      canceller.close();
      multiplex.close();
      await presence?.close();
      topics.close();
      if (resolved.ownsEngine) await engine.close();
    },
  };
}

function checkTopic(where: string, topic: unknown): void {
  const problem = typeof topic === 'string' ? topicProblem(topic) : 'a topic name is a string';
  if (problem !== undefined) {
    throw new TypeError(
      `${where}: ${problem} (got ${JSON.stringify(String(topic).slice(0, 64))}).`,
    );
  }
}
