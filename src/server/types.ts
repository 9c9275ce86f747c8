/**
 * The types of ssekit/server's producer model: what a producer sends ({@link EventStreamEvent}),
 * what it writes to ({@link EventStreamWriter}) and the forms it takes
 * ({@link EventStreamProducer}). Hub runs use the same model (their writer adds its run id).
 *
 * @module
 */
import type {
  AnyContract,
  ContractEventInput,
  ContractEventName,
  ContractInput,
  ContractResultInput,
} from '../contract/define-contract.ts';

/**
 * One event to send. `data` that is not a string is sent as JSON; `undefined` sends no `data:` line
 * (an `id` or `retry` on its own, which clients record without dispatching anything).
 *
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream
 */
export interface EventStreamEvent {
  /** The payload: a string as is, anything else as `JSON.stringify(data)`. */
  data?: unknown;
  /** The event type (`event:` field); clients dispatch `message` without one. No CR or LF. */
  event?: string | undefined;
  /** The event ID (`id:` field), which a reconnecting client sends back as `Last-Event-ID`. */
  id?: string | number | undefined;
  /** The client's reconnection delay in milliseconds (`retry:` field). */
  retry?: number | undefined;
}

/** Options of {@link EventStreamWriter.send}. */
export interface SendOptions {
  /**
   * A coalescing key: while an event with the same key is still queued (the client is behind), the
   * new one replaces it, so a slow client gets the latest value instead of a growing backlog. For
   * metrics, presence, progress: values where only the newest matters.
   */
  coalesce?: string | undefined;
}

/** The payload of a `progress` event: a phase name, its completion and anything else. */
export interface ProgressInput {
  /** The phase the job is in, e.g. `'retrieving'`, `'generating'`. */
  phase: string;
  /** Completion of the phase, from 0 to 1; omit it when unknown. */
  fraction?: number;
  [key: string]: unknown;
}

/** Options of {@link EventStreamWriter.progress}. */
export interface ProgressOptions {
  /**
   * The coalescing key of progress events (see {@link SendOptions.coalesce}); `false` keeps every
   * one of them.
   * @default 'progress'
   */
  coalesce?: string | false;
}

/**
 * The object a producer writes to (named apart from the client's `EventStream`, which reads a
 * stream). Every write returns a promise that resolves when the consumer
 * has room (backpressure) and rejects with `signal.reason` once the stream has ended, so an
 * awaiting loop stops by itself when the client leaves. A producer that does not await is safe
 * too: those rejections are never reported as unhandled.
 */
export interface EventStreamWriter {
  /**
   * Sends one event. Throws a `TypeError` at once for input that cannot be encoded (CR or LF in
   * `event`, data that JSON cannot serialise). `data: undefined` sends no `data:` line.
   *
   * @example
   * ```ts
   * await stream.send({ event: 'token', id: '7', data: 'Hel' });
   * await stream.send({ data: { cpu: 0.42 } }, { coalesce: 'cpu' }); // data: {"cpu":0.42}
   * ```
   */
  send(event: EventStreamEvent, options?: SendOptions): Promise<void>;
  /** Sends a comment line, which clients ignore (a keep-alive, a debugging note). */
  comment(text?: string): Promise<void>;
  /**
   * Sends `event: progress` with the JSON of `progress`, coalesced by default: a client that is
   * behind gets the latest progress, not every step. Throws a `TypeError` for a `fraction` outside
   * 0 to 1.
   *
   * @example
   * ```ts
   * await stream.progress({ phase: 'indexing', fraction: 0.5, files: 120 });
   * // event: progress
   * // data: {"phase":"indexing","fraction":0.5,"files":120}
   * ```
   */
  progress(progress: ProgressInput, options?: ProgressOptions): Promise<void>;
  /** Ends the stream now, as if the producer had returned: `done` is sent (with `terminalEvents`). */
  close(): void;
  /**
   * Aborts when the stream is over for any reason: the client went away, the producer finished or
   * called `close()`, the deadline or the server's `signal` hit, or the client was dropped as too
   * slow. Pass it to `fetch`, to the LLM SDK, to timers, so that work stops with the stream.
   */
  readonly signal: AbortSignal;
  /**
   * The ID of the last event the client saw, for resuming: the `Last-Event-ID` request header,
   * else the `lastEventId` query parameter (for a GET `EventSource` reconnecting through a URL
   * that the page builds itself), else `""`.
   */
  readonly lastEventId: string;
  /** The request this stream answers. */
  readonly request: Request;
  /** Bytes queued for this client and not yet taken by it. */
  readonly bufferedBytes: number;
}

/**
 * What `createEventStream` runs: an async function that writes to the stream (its return value, if
 * any, is the payload of `done`), a function returning an (async) iterable, an async generator
 * function, or an (async) iterable of events itself. `Writer` is what the function gets: the
 * stream's {@link EventStreamWriter}, or a hub run's `RunWriter`.
 *
 * @example
 * ```ts
 * // a function
 * createEventStream(request, async (stream) => {
 *   for await (const token of llm.generate({ signal: stream.signal })) {
 *     await stream.send({ event: 'token', data: token });
 *   }
 * });
 * // an async generator function (it also gets the stream, for its signal)
 * createEventStream(request, async function* (stream) {
 *   yield { event: 'token', data: 'Hello' };
 * });
 * ```
 */
export type EventStreamProducer<Writer = EventStreamWriter> =
  | ((stream: Writer) => EventStreamProducerResult)
  | AsyncIterable<EventStreamEvent, unknown>
  | Iterable<EventStreamEvent, unknown>;

/**
 * What a producer function returns: nothing, a promise (its value is the payload of `done`), or an
 * (async) iterable of events to send, such as the generator of an async generator function.
 */
export type EventStreamProducerResult =
  // biome-ignore lint/suspicious/noConfusingVoidType: a producer that returns nothing returns void
  | void
  | PromiseLike<unknown>
  | AsyncIterable<EventStreamEvent, unknown>
  | Iterable<EventStreamEvent, unknown>;

/**
 * The writer of a stream under a contract (`createEventStream(request, producer, { contract })`):
 * `send` takes the contract's events only, with their schemas' input types; `progress` exists when
 * the contract has a `progress` event. `Writer` is the writer it types (a hub run's `RunWriter`).
 */
export type ContractWriter<
  C extends AnyContract,
  Writer extends Pick<EventStreamWriter, 'send' | 'progress'> = EventStreamWriter,
> = Omit<Writer, 'send' | 'progress'> & {
  /** Sends one event of the contract, checked against its schema (see `EventStreamWriter.send`). */
  send(event: ContractEventInput<C>, options?: SendOptions): Promise<void>;
  /** Sends `event: progress`, checked against the contract's `progress` schema. */
  progress: 'progress' extends ContractEventName<C>
    ? (
        progress: ContractInput<C, 'progress'> & ProgressInput,
        options?: ProgressOptions,
      ) => Promise<void>
    : never;
};

/**
 * A producer under a contract: the forms of {@link EventStreamProducer}, typed by it. What it
 * sends or yields is one of the contract's events; what it returns is the input of the contract's
 * `done` schema (anything without one).
 */
export type ContractProducer<
  C extends AnyContract,
  Writer extends Pick<EventStreamWriter, 'send' | 'progress'> = EventStreamWriter,
> =
  | ((stream: ContractWriter<C, Writer>) => ContractProducerResult<C>)
  | AsyncIterable<ContractEventInput<C>, ContractResultInput<C>>
  | Iterable<ContractEventInput<C>, ContractResultInput<C>>;

/** What a producer under a contract returns (see {@link EventStreamProducerResult}). */
export type ContractProducerResult<C extends AnyContract> =
  | ('done' extends ContractEventName<C>
      ? never
      : // biome-ignore lint/suspicious/noConfusingVoidType: a producer that returns nothing returns void
        void)
  | PromiseLike<ContractResultInput<C>>
  | AsyncIterable<ContractEventInput<C>, ContractResultInput<C>>
  | Iterable<ContractEventInput<C>, ContractResultInput<C>>;
