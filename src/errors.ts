/**
 * The one error hierarchy of ssekit. Every error the package raises on purpose is an
 * {@link SsekitError} with a `code` from {@link SsekitErrorCode}; programmer mistakes (a bad option,
 * a CR in an event name) are plain `TypeError`s instead, and cancellation is never an error: it
 * rejects with `signal.reason`.
 *
 * `instanceof` breaks when two copies of the package are loaded (a bundled copy and a
 * node_modules copy, say), so each class also has a static `isInstance()` that checks a
 * `Symbol.for` marker shared by every copy.
 *
 * @module
 */

/**
 * What went wrong, as a kebab-case string union.
 *
 * | code | class | raised by |
 * | --- | --- | --- |
 * | `event-too-large` | {@link ParseError} | parser: a line or event exceeds `maxEventSize` |
 * | `http-error` | {@link ResponseError} | client: a response that is not 2xx |
 * | `invalid-content-type` | {@link ResponseError} | client: a 2xx response that is not `text/event-stream` |
 * | `idle-timeout` | {@link StreamError} | client: no event within `idleTimeoutMs` |
 * | `retry-limit` | {@link StreamError} | client: retries exhausted; `cause` is the last failure |
 * | `stream-cut` | {@link StreamError} | client: a stream cut after it delivered events, that cannot be resumed (no event id, not a GET), `cause` being what cut it; also a response that ended in the middle of an event |
 * | `ended-early` | {@link StreamError} | client: the server ended the response asking to be resumed (a `retry:` after the last event, as ssekit's deadline does): `onRetry`'s `error`, or a `retry-limit`'s `cause` |
 * | `server-error` | {@link ServerError} | client: the server sent an error event (ssekit's `event: error`, or a provider's: Anthropic, OpenAI, Gemini, AI SDK) |
 * | `slow-consumer` | {@link StreamError} | server: a client that does not read was dropped |
 * | `bad-request`, `payload-too-large`, `unsupported-media-type`, `method-not-allowed` | {@link RequestError} | server: request helpers |
 * | `engine-error` | {@link EngineError} | hub: the storage engine failed (Redis down, say) |
 * | `append-conflict` | {@link EngineError} | hub engine: an explicit id is taken by a different entry |
 * | `history-lost` | {@link EngineError} | hub engine: a tail fell behind and retention trimmed entries before it read them (its `onError` hears it, before the entry after the gap) |
 * | `run-expired` | {@link HubError} | hub: no such run (unknown, or its TTL passed) |
 * | `run-finished` | {@link HubError} | hub: the run already ended (nothing to cancel) |
 * | `run-cancelled` | {@link HubError} | hub: the run was cancelled (its producer's `signal.reason`) |
 * | `run-too-long` | {@link HubError} | hub: the producer logged more than `maxRunEvents` |
 * | `producer-lost` | {@link HubError} | hub: the run's producer stopped renewing its lease (its instance died) |
 * | `invalid-entry` | {@link HubError} | hub: a stored entry cannot be encoded; readers skip it |
 * | `topic-forbidden` | {@link HubError} | hub: the `authorizeTopic` hook denied a subscription (403) |
 * | `contract-violation` | {@link ContractError} | server, hub, client (`ssekit/contract`): an event whose name or data does not match its contract |
 */
export type SsekitErrorCode =
  | 'event-too-large'
  | 'http-error'
  | 'invalid-content-type'
  | 'idle-timeout'
  | 'retry-limit'
  | 'stream-cut'
  | 'ended-early'
  | 'server-error'
  | 'slow-consumer'
  | 'bad-request'
  | 'payload-too-large'
  | 'unsupported-media-type'
  | 'method-not-allowed'
  | 'engine-error'
  | 'append-conflict'
  | 'history-lost'
  | 'run-expired'
  | 'run-finished'
  | 'run-cancelled'
  | 'run-too-long'
  | 'producer-lost'
  | 'invalid-entry'
  | 'topic-forbidden'
  | 'contract-violation';

/** Options every ssekit error accepts. */
export interface SsekitErrorOptions {
  /** The underlying error, if any. */
  cause?: unknown;
}

/**
 * Base class of every error ssekit raises on purpose.
 *
 * @example
 * ```ts
 * import { SsekitError } from 'ssekit';
 *
 * try {
 *   parser.feed(chunk);
 * } catch (error) {
 *   if (SsekitError.isInstance(error)) console.error(error.code, error.message);
 * }
 * ```
 */
export class SsekitError extends Error {
  /** What went wrong. */
  declare readonly code: SsekitErrorCode;

  constructor(code: SsekitErrorCode, message: string, options?: SsekitErrorOptions) {
    // Error reads only `cause` of the options (as native errors do, a `cause` key makes one).
    super(message, options);
    this.code = code;
    mark(this, 'SsekitError', '');
  }

  /** True for any ssekit error, even one made by another copy of the package. */
  static isInstance(value: unknown): value is SsekitError {
    return hasMarker(value, '');
  }
}

/**
 * The event stream could not be decoded within its limits: a line or an event is larger than
 * `maxEventSize`. The offending event is skipped; everything before and after it is delivered.
 */
export class ParseError extends SsekitError {
  /** The limit that was exceeded, in UTF-16 code units. */
  declare readonly limit: number;

  constructor(message: string, limit: number, options?: SsekitErrorOptions) {
    super('event-too-large', message, options);
    this.limit = limit;
    mark(this, 'ParseError', '.parse');
  }

  /** True for a {@link ParseError}, even one made by another copy of the package. */
  static override isInstance(value: unknown): value is ParseError {
    return hasMarker(value, '.parse');
  }
}

/** Options of {@link ResponseError}. */
export interface ResponseErrorOptions extends SsekitErrorOptions {
  status: number;
  statusText: string;
  headers: Headers;
  /** The start of the response body as text (bounded), for diagnosis. */
  body: string;
  method: string;
  url: string;
}

/**
 * The server answered, but not with an event stream: a non-2xx status (`http-error`) or a 2xx
 * response of another content type (`invalid-content-type`).
 */
export class ResponseError extends SsekitError {
  declare readonly status: number;
  declare readonly statusText: string;
  declare readonly headers: Headers;
  /** The start of the response body as text (bounded), for diagnosis. */
  declare readonly body: string;
  declare readonly method: string;
  declare readonly url: string;

  constructor(
    code: 'http-error' | 'invalid-content-type',
    message: string,
    options: ResponseErrorOptions,
  ) {
    super(code, message, options);
    this.status = options.status;
    this.statusText = options.statusText;
    this.headers = options.headers;
    this.body = options.body;
    this.method = options.method;
    this.url = options.url;
    mark(this, 'ResponseError', '.response');
  }

  /** True for a {@link ResponseError}, even one made by another copy of the package. */
  static override isInstance(value: unknown): value is ResponseError {
    return hasMarker(value, '.response');
  }
}

/**
 * A stream failed on the way: it went idle (`idle-timeout`), retries ran out (`retry-limit`, with
 * the last failure as `cause`), it was cut (`stream-cut`: after delivering events and it cannot be
 * resumed, with what cut it as `cause`; or a response that ended inside an event), the server
 * ended a response asking to be resumed (`ended-early`), or a consumer could not keep up
 * (`slow-consumer`).
 */
export class StreamError extends SsekitError {
  constructor(
    code: 'idle-timeout' | 'retry-limit' | 'stream-cut' | 'ended-early' | 'slow-consumer',
    message: string,
    options?: SsekitErrorOptions,
  ) {
    super(code, message, options);
    mark(this, 'StreamError', '.stream');
  }

  /** True for a {@link StreamError}, even one made by another copy of the package. */
  static override isInstance(value: unknown): value is StreamError {
    return hasMarker(value, '.stream');
  }
}

/** Options of {@link ServerError}. */
export interface ServerErrorOptions extends SsekitErrorOptions {
  /** The error's type as the server named it (`overloaded_error`, `server_error`, `UNAVAILABLE`). */
  type?: string | undefined;
  /**
   * Whether the failure is transient by its meaning (overloaded, rate-limited, unavailable), so
   * that a request which delivered nothing yet may be sent again.
   * @default false
   */
  retryable?: boolean | undefined;
}

/**
 * The server reported a failure in-band: ssekit's `event: error`, or a provider's error event
 * (Anthropic `event: error`, OpenAI `error` / `response.failed` / a chunk with `error`, Gemini's
 * `error` chunk, the AI SDK's `error` part). `data` is the decoded payload (the parsed JSON when it
 * is JSON, else the raw text); `message` is the server's message, with the provider's error type
 * in parentheses (`Overloaded (overloaded_error)`).
 */
export class ServerError extends SsekitError {
  /** The decoded payload of the error event. */
  declare readonly data: unknown;
  /** The id of the error event (the stream's last event ID). */
  declare readonly id: string;
  /** The error's type as the server named it, when it did (`overloaded_error`, `server_error`). */
  declare readonly type: string | undefined;
  /** Transient by its meaning (overloaded, rate-limited, unavailable): see {@link ServerErrorOptions}. */
  declare readonly retryable: boolean;

  constructor(message: string, data: unknown, id: string, options?: ServerErrorOptions) {
    super('server-error', message, options);
    this.data = data;
    this.id = id;
    this.type = options?.type;
    this.retryable = options?.retryable === true;
    mark(this, 'ServerError', '.server');
  }

  /** True for a {@link ServerError}, even one made by another copy of the package. */
  static override isInstance(value: unknown): value is ServerError {
    return hasMarker(value, '.server');
  }
}

/** A request an event-stream endpoint refuses, with the HTTP status to answer it with. */
export class RequestError extends SsekitError {
  /** 400, 405, 413 or 415. */
  declare readonly status: number;

  constructor(
    code: 'bad-request' | 'payload-too-large' | 'unsupported-media-type' | 'method-not-allowed',
    message: string,
    options?: SsekitErrorOptions,
  ) {
    super(code, message, options);
    this.status = REQUEST_STATUS[code];
    mark(this, 'RequestError', '.request');
  }

  /** True for a {@link RequestError}, even one made by another copy of the package. */
  static override isInstance(value: unknown): value is RequestError {
    return hasMarker(value, '.request');
  }
}

const REQUEST_STATUS = {
  'bad-request': 400,
  'method-not-allowed': 405,
  'payload-too-large': 413,
  'unsupported-media-type': 415,
} as const;

/** Options of {@link EngineError}. */
export interface EngineErrorOptions extends SsekitErrorOptions {
  /**
   * `append-conflict`: an append with an explicit id found that id taken by a different entry
   * (another writer got there first). A re-sent append of the same entry is not a conflict.
   * @default 'engine-error'
   */
  code?: 'engine-error' | 'append-conflict' | 'history-lost';
  /** `history-lost`: where the tail's gap is. */
  gap?: TailGap;
}

/**
 * A gap in what a tail delivered (`history-lost`): the entries after `after` and before `next`
 * were trimmed from the log (by retention) before the tail read them.
 */
export interface TailGap {
  /** The last entry the tail delivered before the gap. */
  after: string;
  /** The first entry it delivers after the gap (delivered right after the report). */
  next: string;
}

/**
 * The hub's storage engine failed (a Redis connection lost, say; `cause` has the details), an
 * append with an explicit id found it taken by another entry (`append-conflict`), or a tail fell
 * behind the log's retention (`history-lost`, with the `gap`).
 */
export class EngineError extends SsekitError {
  /** `history-lost`: the entries the tail could not deliver; `undefined` for other codes. */
  declare readonly gap: TailGap | undefined;

  constructor(message: string, options?: EngineErrorOptions) {
    super(options?.code ?? 'engine-error', message, options);
    this.gap = options?.gap;
    mark(this, 'EngineError', '.engine');
  }

  /** True for an {@link EngineError}, even one made by another copy of the package. */
  static override isInstance(value: unknown): value is EngineError {
    return hasMarker(value, '.engine');
  }
}

/** The codes of {@link HubError}. */
export type HubErrorCode =
  | 'run-expired'
  | 'run-finished'
  | 'run-cancelled'
  | 'run-too-long'
  | 'producer-lost'
  | 'invalid-entry'
  | 'topic-forbidden';

const HUB_STATUS: Record<HubErrorCode, number> = {
  'run-expired': 404,
  'run-finished': 409,
  'run-cancelled': 409,
  'run-too-long': 500,
  'producer-lost': 500,
  'invalid-entry': 500,
  'topic-forbidden': 403,
};

/**
 * A resumable run (ssekit/hub) cannot go on, or cannot be reached: it is unknown or expired
 * (`run-expired`, HTTP 404), it already ended (`run-finished`, 409), it was cancelled
 * (`run-cancelled`: the producer's `signal.reason`), its producer logged too many events
 * (`run-too-long`) or stopped renewing its lease because its instance died (`producer-lost`), or a
 * stored entry could not be encoded (`invalid-entry`, reported to `onError`, skipped by readers),
 * or the `authorizeTopic` hook denied a subscription (`topic-forbidden`, 403).
 * Its message is safe to show: a run's `error` event carries it with its code.
 *
 * @example
 * ```ts
 * import { HubError } from 'ssekit';
 *
 * const error = new HubError('run-expired', 'No such run, or it expired.');
 * error.status; // 404
 * ```
 */
export class HubError extends SsekitError {
  /** The HTTP status an endpoint answers with for it (404 for `run-expired`, 409 for `run-finished`). */
  declare readonly status: number;

  constructor(code: HubErrorCode, message: string, options?: SsekitErrorOptions) {
    super(code, message, options);
    this.status = HUB_STATUS[code];
    mark(this, 'HubError', '.hub');
  }

  /** True for a {@link HubError}, even one made by another copy of the package. */
  static override isInstance(value: unknown): value is HubError {
    return hasMarker(value, '.hub');
  }
}

/** One problem with an event's data, as its schema reported it (Standard Schema's issue). */
export interface ContractIssue {
  readonly message: string;
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined;
}

/** Options of {@link ContractError}. */
export interface ContractErrorOptions extends SsekitErrorOptions {
  /** The event's name (`type` on the client, `event` on the server; `message` without one). */
  event: string;
  /** What the schema found wrong; empty for an event the contract does not name. */
  issues: readonly ContractIssue[];
  /** The offending data (parsed JSON on the client, what `send` got on the server). */
  data: unknown;
  /** The event's id, when it had one. */
  id?: string | undefined;
}

/**
 * An event does not match its contract (`ssekit/contract`): a name the contract does not list,
 * or data its schema refuses. On the server it is thrown by `send` (the producer fails, the client
 * gets a safe `error` event); on the client it fails the stream instead of reaching your code.
 * The message names the event and the first issues: `Event "token" does not match the contract:
 * text: Expected string, received number.`
 */
export class ContractError extends SsekitError {
  /** The event's name. */
  declare readonly event: string;
  /** What the schema found wrong (Standard Schema issues); empty for an unknown event. */
  declare readonly issues: readonly ContractIssue[];
  /** The offending data. */
  declare readonly data: unknown;
  /** The event's id, if any. */
  declare readonly id: string | undefined;

  constructor(message: string, options: ContractErrorOptions) {
    super('contract-violation', message, options);
    this.event = options.event;
    this.issues = options.issues;
    this.data = options.data;
    this.id = options.id;
    mark(this, 'ContractError', '.contract');
  }

  /** True for a {@link ContractError}, even one made by another copy of the package. */
  static override isInstance(value: unknown): value is ContractError {
    return hasMarker(value, '.contract');
  }
}

// Each class marks its instances with a `Symbol.for` key of its own (`ssekit.error.parse`), shared
// by every copy of the package; the base class's key is `ssekit.error`.
function hasMarker(value: unknown, kind: string): boolean {
  return (value as Record<symbol, unknown> | null)?.[Symbol.for(`ssekit.error${kind}`)] === true;
}

function mark(error: SsekitError, name: string, kind: string): void {
  error.name = name;
  Object.defineProperty(error, Symbol.for(`ssekit.error${kind}`), { value: true });
}
