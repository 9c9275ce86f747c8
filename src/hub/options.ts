/**
 * The options of `createHub`: resolved once with their defaults (`??`, never a spread) into
 * {@link ResolvedHubOptions}, and checked at once, as the server's stream options are.
 */
import { HubError } from '../errors.ts';
import { defaultPublicError, type PublicError } from '../server/public-error.ts';
import type { AuthorizeTopic } from './_multiplex.ts';
import type { HubEngine } from './engine.ts';
import { createMemoryEngine } from './memory-engine.ts';
import type { HubObserver } from './types.ts';

/** Retention of topic logs: by count and by age. */
export interface RetentionOptions {
  /** @default 1_000 */
  maxEvents?: number;
  /** @default 3_600_000 (1 hour) */
  maxAgeMs?: number;
}

/**
 * Options of `createHub`. They are resolved once and validated at once: a bad value throws a
 * `TypeError` from `createHub` that names the option and the value, never later in a run.
 */
export interface HubOptions {
  /** Where logs live. @default createMemoryEngine() (one process) */
  engine?: HubEngine;
  /** Topic retention: how far back `Last-Event-ID` can replay. */
  retention?: RetentionOptions;
  /**
   * A run (and its log) expires this long after its last event: a resume later than that gets a
   * `404` `run-expired`.
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
  /**
   * How often the lease is renewed (and checked by idle readers); less than `producerLeaseMs`.
   * @default a third of `producerLeaseMs`
   */
  leaseRenewMs?: number;
  /**
   * Called for every subscription to a topic (`hub.subscribe`, each topic of
   * `hub.subscribeMany`, each topic added by `hub.handleTopics`) with the request that asks
   * for it; `false` (or a throw, reported to `onError`) denies it: a `403` `topic-forbidden` for
   * `hub.subscribe`, a `topic-error` event for that topic on a multiplexed connection, which
   * goes on with its other topics.
   * @default every subscription is allowed
   */
  authorizeTopic?: AuthorizeTopic;
  /** The most topics one multiplexed connection follows. @default 100 */
  maxTopicsPerConnection?: number;
  /**
   * Tracks who follows each topic, across instances (`hub.presence(topic)`): each instance
   * writes a snapshot of its subscribers of a topic to the engine when they change and every
   * third of `ttlMs`. Off by default: it writes to the engine.
   * @default false
   */
  presence?: boolean | { ttlMs?: number };
  /** Receives producer failures (with stack) and engine failures. @default console.error */
  onError?: (error: unknown) => void;
  /** Maps a producer's error to the payload of its `error` event. @default defaultPublicError */
  publicError?: (error: unknown) => PublicError | undefined;
  /**
   * Observes runs and streams (tracing, metrics): `ssekit/otel`'s `telemetry.hub`, or your own
   * `HubObserver`.
   */
  observe?: HubObserver | undefined;
}

/** {@link HubOptions} with every default applied. @internal */
export interface ResolvedHubOptions {
  engine: HubEngine;
  /** The engine is the hub's own (none was given): `hub.close()` closes it. */
  ownsEngine: boolean;
  runTtlMs: number;
  maxRunEvents: number;
  topicMaxEvents: number;
  topicMaxAgeMs: number;
  producerLeaseMs: number;
  leaseRenewMs: number;
  authorizeTopic: AuthorizeTopic | undefined;
  maxTopicsPerConnection: number;
  /** `undefined`: presence is off. */
  presenceTtlMs: number | undefined;
  onError: (error: unknown) => void;
  /** Never undefined: the option, else a `HubError`'s code and message, else the default mapping. */
  publicError: (error: unknown) => PublicError;
  observe: HubObserver | undefined;
}

/**
 * Every method of an engine, once: `satisfies` fails the build when `HubEngine` gains a method
 * that is not checked here.
 */
const ENGINE_METHODS = {
  append: true,
  range: true,
  bounds: true,
  tail: true,
  setValue: true,
  getValue: true,
  publishCancel: true,
  onCancel: true,
  close: true,
} as const satisfies Record<keyof HubEngine, true>;

// setTimeout fires at once for delays above 2^31 - 1 ms: refuse them.
const MAX_TIMER_MS = 2_147_483_647;
/**
 * A run's sequence numbers have at most 15 digits (src/hub/_validate.ts), and its terminal event
 * takes the one after the last of the producer's.
 */
const MAX_RUN_EVENTS = 10 ** 15 - 2;

function logError(error: unknown): void {
  console.error('ssekit hub:', error);
}

/** Applies the defaults and validates every option, throwing a `TypeError` that names the value. @internal */
export function resolveHubOptions(options: HubOptions): ResolvedHubOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`createHub: options must be an object, got ${String(options)}.`);
  }
  const ownsEngine = options.engine === undefined;
  if (!ownsEngine) checkEngine(options.engine);
  const runTtlMs = options.runTtlMs ?? 3_600_000;
  const maxRunEvents = options.maxRunEvents ?? 100_000;
  const topicMaxEvents = options.retention?.maxEvents ?? 1_000;
  const topicMaxAgeMs = options.retention?.maxAgeMs ?? 3_600_000;
  const producerLeaseMs = options.producerLeaseMs ?? 10_000;
  const leaseRenewMs = options.leaseRenewMs ?? Math.max(1, Math.floor(producerLeaseMs / 3));
  checkDuration('runTtlMs', runTtlMs, MAX_TIMER_MS);
  checkInteger('maxRunEvents', maxRunEvents, MAX_RUN_EVENTS);
  checkInteger('retention.maxEvents', topicMaxEvents, Number.MAX_SAFE_INTEGER);
  checkDuration('retention.maxAgeMs', topicMaxAgeMs, Number.POSITIVE_INFINITY); // no timer: ages only
  checkDuration('producerLeaseMs', producerLeaseMs, MAX_TIMER_MS);
  checkDuration('leaseRenewMs', leaseRenewMs, MAX_TIMER_MS);
  const maxTopicsPerConnection = options.maxTopicsPerConnection ?? 100;
  checkInteger('maxTopicsPerConnection', maxTopicsPerConnection, 10_000);
  const presence = options.presence ?? false;
  let presenceTtlMs: number | undefined;
  if (presence !== false) {
    if (presence !== true && (typeof presence !== 'object' || presence === null)) {
      throw new TypeError(`presence must be a boolean or { ttlMs }, got ${String(presence)}.`);
    }
    presenceTtlMs = (presence === true ? undefined : presence.ttlMs) ?? 30_000;
    checkDuration('presence.ttlMs', presenceTtlMs, MAX_TIMER_MS);
  }
  if (leaseRenewMs >= producerLeaseMs) {
    throw new TypeError(
      `leaseRenewMs (${leaseRenewMs}) must be less than producerLeaseMs (${producerLeaseMs}): the lease would lapse between renewals.`,
    );
  }
  for (const name of ['onError', 'publicError', 'authorizeTopic'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'function') {
      throw new TypeError(`${name} must be a function, got ${typeof options[name]}.`);
    }
  }
  const observe = options.observe;
  if (observe !== undefined) {
    for (const name of ['run', 'stream'] as const) {
      if (observe[name] !== undefined && typeof observe[name] !== 'function') {
        throw new TypeError(`observe.${name} must be a function, got ${typeof observe[name]}.`);
      }
    }
  }
  const mapError = options.publicError;
  return {
    engine: options.engine ?? createMemoryEngine(),
    ownsEngine,
    runTtlMs,
    maxRunEvents,
    topicMaxEvents,
    topicMaxAgeMs,
    producerLeaseMs,
    leaseRenewMs,
    authorizeTopic: options.authorizeTopic,
    maxTopicsPerConnection,
    presenceTtlMs,
    onError: options.onError ?? logError,
    publicError: (error) =>
      mapError?.(error) ??
      (HubError.isInstance(error)
        ? { message: error.message, code: error.code }
        : defaultPublicError(error)),
    observe,
  };
}

function checkEngine(engine: unknown): void {
  const missing =
    typeof engine === 'object' && engine !== null
      ? Object.keys(ENGINE_METHODS).filter(
          (name) => typeof (engine as Record<string, unknown>)[name] !== 'function',
        )
      : Object.keys(ENGINE_METHODS);
  if (missing.length > 0) {
    throw new TypeError(
      `engine must implement HubEngine (src/hub/engine.ts, docs/hub.md#the-engine-contract): ${typeof engine === 'object' && engine !== null ? `no ${missing.map((name) => `${name}()`).join(', ')}` : `got ${String(engine)}`}.`,
    );
  }
}

function checkDuration(name: string, value: unknown, max: number): void {
  if (typeof value !== 'number' || !(value >= 1 && value <= max)) {
    throw new TypeError(
      `${name} must be a number of milliseconds from 1 to ${max}, got ${String(value)}.`,
    );
  }
}

function checkInteger(name: string, value: unknown, max: number): void {
  if (!Number.isSafeInteger(value) || (value as number) < 1 || (value as number) > max) {
    throw new TypeError(`${name} must be an integer from 1 to ${max}, got ${String(value)}.`);
  }
}
