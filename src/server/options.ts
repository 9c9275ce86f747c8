import type { HeadersInput } from '../_internal/http.ts';
import type { AnyContract, ValidateMode } from '../contract/define-contract.ts';
import { type CorsOptions, validateCors } from './cors.ts';
import type { ObserveStream } from './observe.ts';
import type { PublicError } from './public-error.ts';

/**
 * Options of `createEventStream` (and of `eventStreamHandler` and `relayEventStream`).
 * Every duration is in milliseconds; every size in bytes of UTF-8.
 */
export interface EventStreamOptions {
  /**
   * Sends a comment (`:`) after this much silence, so proxies and load balancers do not close an
   * idle connection and a dead client is noticed at the next write. Any event pushes it back.
   * `0` disables it.
   * @default 15_000
   */
  heartbeatMs?: number;
  /**
   * Queued bytes above which `send` waits: its promise resolves when the consumer has taken the
   * queue. Producers that `await stream.send(...)` thus run at the client's pace.
   * @default 65_536 (64 KiB)
   */
  highWaterMark?: number;
  /**
   * The hard cap on queued bytes, for producers that do not await `send`: past it the consumer is
   * dropped at once (`StreamError` `slow-consumer`). Behind ssekit's Node adapters, what the
   * socket took and has not sent counts too. One event larger than the cap on its own is let
   * through, so memory per stream is at most this plus one event.
   * @default 1_048_576 (1 MiB)
   */
  maxBufferedBytes?: number;
  /**
   * How long queued data may wait without the consumer reading any of it: a client that stopped
   * reading (a frozen tab, a dead network path that TCP has not noticed) is dropped after this
   * (`StreamError` `slow-consumer` to `onError`, the producer's `signal` aborts).
   * @default 30_000
   */
  writeTimeoutMs?: number;
  /**
   * The most a stream may live, for platforms that cut responses (Azure Static Web Apps at 45 s,
   * Netlify functions at 60 s). `deadlineMarginMs` before it, the stream sends a `retry:` hint and
   * ends without `done`, and a client that sent `Last-Event-ID` resumes. No limit by default.
   */
  maxDurationMs?: number;
  /**
   * How long before `maxDurationMs` the stream ends, to get its last bytes out before the platform
   * cuts the connection. Must be less than `maxDurationMs`.
   * @default 1_000
   */
  deadlineMarginMs?: number;
  /**
   * The reconnection delay sent as `retry:` when the stream ends at its deadline (or at `signal`).
   * @default 1_000
   */
  retryMs?: number;
  /**
   * A random 0 to `retryJitterMs` added to `retryMs`, so that clients cut together do not all come
   * back in the same millisecond.
   * @default 1_000
   */
  retryJitterMs?: number;
  /**
   * Write the terminal events: `done` when the producer finishes, `error` when it throws. `false`
   * leaves the stream to end without them, for a layer that writes its own (an OpenAI-compatible
   * endpoint ends with `data: [DONE]`; the hub writes resumable terminal events).
   * @default true
   */
  terminalEvents?: boolean;
  /**
   * Receives every failure: the producer's error (with the real message and stack) and
   * `StreamError` `slow-consumer` when a client is dropped. Cancellation (the client left, the
   * deadline) is not an error and is not reported.
   * @default logs with console.error
   */
  onError?: (error: unknown) => void;
  /**
   * Maps a producer's error to the payload of the `error` event. Return `undefined` to fall back to
   * the default mapping, which exposes the `message` (and string `code`) of errors marked
   * `expose: true` and of `RequestError`s, and `{"message":"Internal server error"}` otherwise.
   */
  publicError?: (error: unknown) => PublicError | undefined;
  /** Adds CORS headers to the response. Answer preflights with `corsPreflight`. */
  cors?: CorsOptions;
  /** Extra response headers. The protocol headers win over them. */
  headers?: HeadersInput;
  /**
   * Ends the stream like the deadline does (`retry:` hint, no `done`) when it aborts: pass a
   * server-wide signal that aborts on shutdown, and clients reconnect to another instance.
   */
  signal?: AbortSignal;
  /**
   * Observes each stream (tracing, metrics): called when it opens, its observer hears the events,
   * the bytes and the end. `ssekit/otel`'s `telemetry.server` is one.
   */
  observe?: ObserveStream | undefined;
}

/**
 * The options that put a stream under a contract: `createEventStream(request, producer,
 * { contract, ...options })`, `hub.stream`, `hub.publish`.
 */
export interface WithContract<C extends AnyContract = AnyContract> {
  /**
   * The stream's contract (`defineContract` from `ssekit/contract`): `send` (and what a generator
   * yields) is typed by it and checked against it, and so is the producer's result when the
   * contract has `done`. A violation throws a `ContractError` from `send`: the producer fails,
   * `onError` gets it, the client gets a safe `error` event.
   */
  contract: C;
  /**
   * Whether `contract` checks the data of each event (`'never'`: the types and the names only).
   * Make it development-only with your own expression, which your bundler folds:
   * `import.meta.env.DEV ? 'always' : 'never'`.
   * @default 'always'
   */
  validate?: ValidateMode | undefined;
}

/** {@link EventStreamOptions} with every default applied. */
export interface ResolvedEventStreamOptions {
  heartbeatMs: number;
  highWaterMark: number;
  maxBufferedBytes: number;
  writeTimeoutMs: number;
  /** `undefined`: no deadline. */
  deadlineMs: number | undefined;
  retryMs: number;
  retryJitterMs: number;
  terminalEvents: boolean;
  onError: (error: unknown) => void;
  publicError: ((error: unknown) => PublicError | undefined) | undefined;
  cors: CorsOptions | undefined;
  headers: HeadersInput | undefined;
  signal: AbortSignal | undefined;
  observe: ObserveStream | undefined;
}

/** The default hard cap on queued bytes (1 MiB; a limit of its own, not the body limit). */
const DEFAULT_MAX_BUFFERED_BYTES = 1_048_576;

// setTimeout fires at once for delays above 2^31 - 1 ms (about 24.8 days): refuse them.
const MAX_TIMER_MS = 2_147_483_647;

function logError(error: unknown): void {
  console.error('ssekit: event stream failed:', error);
}

/** Applies the defaults and validates every option, throwing a `TypeError` that names the value. */
export function resolveEventStreamOptions(
  options: EventStreamOptions = {},
): ResolvedEventStreamOptions {
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const highWaterMark = options.highWaterMark ?? 65_536;
  const maxBufferedBytes =
    options.maxBufferedBytes ?? Math.max(DEFAULT_MAX_BUFFERED_BYTES, highWaterMark);
  const writeTimeoutMs = options.writeTimeoutMs ?? 30_000;
  const marginMs = options.deadlineMarginMs ?? 1_000;
  const retryMs = options.retryMs ?? 1_000;
  const retryJitterMs = options.retryJitterMs ?? 1_000;
  checkNumber('heartbeatMs', heartbeatMs, 0, MAX_TIMER_MS);
  checkNumber('highWaterMark', highWaterMark, 0, Number.MAX_SAFE_INTEGER);
  checkNumber('maxBufferedBytes', maxBufferedBytes, 1, Number.MAX_SAFE_INTEGER);
  checkNumber('writeTimeoutMs', writeTimeoutMs, 1, MAX_TIMER_MS);
  checkNumber('deadlineMarginMs', marginMs, 0, MAX_TIMER_MS);
  checkInteger('retryMs', retryMs);
  checkInteger('retryJitterMs', retryJitterMs);
  if (maxBufferedBytes < highWaterMark) {
    throw new TypeError(
      `maxBufferedBytes (${maxBufferedBytes}) must be at least highWaterMark (${highWaterMark}): the hard cap cannot be below the point where send() starts to wait.`,
    );
  }
  const deadlineMs = resolveDeadline(options.maxDurationMs, marginMs);
  for (const name of ['onError', 'publicError', 'observe'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'function') {
      throw new TypeError(`${name} must be a function, got ${typeof options[name]}.`);
    }
  }
  if (options.cors) validateCors(options.cors);
  return {
    heartbeatMs,
    highWaterMark,
    maxBufferedBytes,
    writeTimeoutMs,
    deadlineMs,
    retryMs,
    retryJitterMs,
    terminalEvents: options.terminalEvents ?? true,
    onError: options.onError ?? logError,
    publicError: options.publicError,
    cors: options.cors,
    headers: options.headers,
    signal: options.signal,
    observe: options.observe,
  };
}

function resolveDeadline(maxDurationMs: number | undefined, marginMs: number): number | undefined {
  if (maxDurationMs === undefined || maxDurationMs === Number.POSITIVE_INFINITY) return undefined;
  checkNumber('maxDurationMs', maxDurationMs, 1, MAX_TIMER_MS);
  if (marginMs >= maxDurationMs) {
    throw new TypeError(
      `deadlineMarginMs (${marginMs}) must be less than maxDurationMs (${maxDurationMs}): the stream would end before it starts.`,
    );
  }
  return maxDurationMs - marginMs;
}

function checkNumber(name: string, value: unknown, min: number, max: number): void {
  if (typeof value !== 'number' || !(value >= min && value <= max)) {
    throw new TypeError(`${name} must be a number from ${min} to ${max}, got ${String(value)}.`);
  }
}

function checkInteger(name: string, value: unknown): void {
  if (!Number.isSafeInteger(value) || (value as number) < 0) {
    throw new TypeError(`${name} must be a non-negative integer of milliseconds, got ${value}.`);
  }
}
