/**
 * The types a run's producer and a caller of the hub write against (the hub itself is
 * `Hub`, in hub.ts; its options are in options.ts).
 *
 * @module
 */

import type { AnyContract, ContractEventInput } from '../contract/define-contract.ts';
import type { ObserveStream } from '../server/observe.ts';
import type { EventStreamOptions } from '../server/options.ts';
import type {
  ContractProducer,
  EventStreamEvent,
  EventStreamProducer,
  EventStreamWriter,
} from '../server/types.ts';

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

/** Options of `Hub.stream`: the server's stream options, plus `waitUntil`. */
export interface HubStreamOptions extends Omit<EventStreamOptions, 'terminalEvents'> {
  /**
   * Keeps the detached producer alive on platforms that end work with the response (Vercel,
   * Netlify, Cloudflare `ctx.waitUntil`): it gets the producer's promise.
   */
  waitUntil?: (promise: Promise<unknown>) => void;
}

/** Options of `Hub.subscribe`. */
export interface SubscribeOptions extends Omit<EventStreamOptions, 'terminalEvents'> {
  /** Only events for which it returns true reach this subscriber. */
  filter?: (event: EventStreamEvent) => boolean;
  /**
   * A coalescing key per event: while this subscriber is behind, a queued event with the same key
   * is replaced by the newer one (latest value wins, for dashboards).
   */
  coalesce?: (event: EventStreamEvent) => string | undefined;
  /** Who subscribes (a user id, say), for `hub.presence`; anonymous when absent. */
  member?: string;
}

/** Options of `Hub.subscribeMany`. */
export interface SubscribeManyOptions extends Omit<EventStreamOptions, 'terminalEvents'> {
  /** Only events for which it returns true reach this connection. */
  filter?: (topic: string, event: EventStreamEvent) => boolean;
  /**
   * A coalescing key per event of a topic: while this connection is behind, a queued event of
   * the same topic with the same key is replaced by the newer one (latest value wins).
   */
  coalesce?: (topic: string, event: EventStreamEvent) => string | undefined;
  /** Who subscribes (a user id, say), for `hub.presence`; anonymous when absent. */
  member?: string;
}

/** Options of `Hub.history`. */
export interface HistoryOptions {
  /** The most events returned: the last ones, or the first ones after `after`. @default 100 */
  limit?: number;
  /** Only events after this id (`<ms>-<seq>`, a topic event id). */
  after?: string;
}

/** A run's producer under a contract: its `send` and what it yields are the contract's events. */
export type ContractRunProducer<C extends AnyContract> = ContractProducer<C, RunWriter>;

/** An event of a topic under a contract (what `publish` takes). */
export type ContractTopicEvent<C extends AnyContract> = ContractEventInput<C>;

/**
 * What a hub tells an observer (`createHub({ observe })`; `ssekit/otel`'s `telemetry.hub` is
 * one): each run from its start to its end, and each stream it answers.
 */
export interface HubObserver {
  /** A run starts (before its producer does): returns the run's observer, or `undefined`. */
  run?: ((run: ObservedRunStart) => RunObserver | undefined) | undefined;
  /**
   * Each stream the hub answers, as the server's `observe` option: a run's responses (with
   * `run`: its id, whether it resumes, its kept context) and subscriptions (with `topics`). A
   * stream's own `observe` option takes its place.
   */
  stream?: ObserveStream | undefined;
}

/** A run as its observer first sees it. */
export interface ObservedRunStart {
  readonly id: string;
  /** The request that started it. */
  readonly request: Request;
}

/**
 * Why a run ended: its producer returned (`completed`), it was cancelled (`hub.cancel`, a
 * client's `stop()`, `hub.close()`), or it failed (`error`: the producer threw, an event broke the
 * contract or `maxRunEvents`, or the run was ended without it: `HubError` `producer-lost`).
 */
export type RunEndReason = 'completed' | 'cancelled' | 'error';

/** What the hub tells about one run. */
export interface RunObserver {
  /**
   * A small string to keep with the run (a W3C `traceparent`, say), stored in the engine for as
   * long as the run: every response of the run, on any instance, gets it as `run.context`.
   */
  readonly context?: string | undefined;
  /** The producer sent an event (accepted: it is being logged). */
  event(): void;
  /** The run is over and its terminal event logged (or the run failed to start): once, last. */
  end(reason: RunEndReason, error: unknown): void;
  /** Runs the producer: to make the run's context the producer's. */
  within?<T>(run: () => T): T;
}
