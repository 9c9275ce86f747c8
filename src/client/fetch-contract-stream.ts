import type {
  AnyContract,
  ContractEvent,
  ContractResult,
  ValidateMode,
} from '../contract/define-contract.ts';
import { decodeIncoming, decodeResult, SKIP } from '../contract/validate.ts';
import type { ServerSentEvent } from '../protocol/types.ts';
import { createEventQueue, type EventSink } from './_event-queue.ts';
import {
  type CloseInfo,
  type EventStream,
  type FetchEventStreamOptions,
  startEventStream,
} from './fetch-event-stream.ts';

/** Options of {@link fetchContractStream}: those of `fetchEventStream`, typed by the contract. */
export interface FetchContractStreamOptions<C extends AnyContract>
  extends Omit<FetchEventStreamOptions, 'onEvent'> {
  /** The stream's contract (`defineContract` from `ssekit/contract`), shared with the server. */
  contract: C;
  /**
   * `'always'` parses and validates each event's data with its schema; `'never'` only parses it
   * (the types are then a promise the server keeps).
   * @default 'always'
   */
  validate?: ValidateMode | undefined;
  /** Each event, parsed and validated, as a union discriminated by `type`. */
  onEvent?: ((event: ContractEvent<C>) => void) | undefined;
}

/** A running stream under a contract: `fetchEventStream`'s stream, yielding typed events. */
export interface ContractStream<C extends AnyContract>
  extends Omit<EventStream, typeof Symbol.asyncIterator>,
    AsyncIterable<ContractEvent<C>> {
  /**
   * The data of the stream's `done` event (ssekit's terminal event: what the producer returned),
   * parsed and validated by the contract's `done` schema; `undefined` when the stream ended
   * without one. Settles after `finished`; rejects when the stream failed, or with a
   * `ContractError` when `done`'s data does not match.
   */
  readonly result: Promise<ContractResult<C> | undefined>;
}

/**
 * `fetchEventStream` under a contract: every event is parsed (JSON, else text) and validated by
 * the schema of its name before it reaches you, and the iterator, `onEvent` and `result` are typed
 * by the contract. A mismatch (an event the contract does not list, data its schema refuses) fails
 * the stream with a `ContractError` that names the event and the issues: the iterator and
 * `finished` reject with it, `onClose` gets it; your code never sees the bad event.
 *
 * Everything else is `fetchEventStream`'s: it resumes, never re-runs; `close()`, `stop()`,
 * `lastEventId`, `readyState`.
 *
 * @example
 * ```ts
 * import { fetchContractStream } from 'ssekit/client';
 * import { chat } from './contract'; // defineContract({ token: z.object({ text: z.string() }) })
 *
 * const stream = fetchContractStream('/api/chat', { contract: chat, json: { prompt: 'Hi' } });
 * for await (const event of stream) {
 *   if (event.type === 'token') output.textContent += event.data.text; // typed
 * }
 * ```
 */
export function fetchContractStream<const C extends AnyContract>(
  url: string | URL,
  options: FetchContractStreamOptions<C>,
): ContractStream<C> {
  const queue = createEventQueue(options.highWaterMark ?? 256, !options.onEvent, () =>
    stream.close(),
  );
  const stream = startContractStream(url, options, queue as EventSink) as ContractStream<C>;
  (stream as { [Symbol.asyncIterator]: unknown })[Symbol.asyncIterator] = queue.iterate;
  return stream;
}

/**
 * `fetchContractStream` without its iterator (the React hook's `useContractStream` uses it): the
 * decoded events go to `onEvent` and to `sink`.
 * @internal
 */
export function startContractStream<C extends AnyContract>(
  url: string | URL,
  options: FetchContractStreamOptions<C>,
  sink?: EventSink,
): Omit<ContractStream<C>, typeof Symbol.asyncIterator> {
  const { contract, validate = 'always', onEvent, onClose, ...rest } = options;
  const events = (contract as Partial<AnyContract> | undefined)?.events;
  if (events === null || typeof events !== 'object') {
    throw new TypeError(
      'fetchContractStream: contract must be made by defineContract() from ssekit/contract.',
    );
  }
  if (validate !== 'always' && validate !== 'never') {
    throw new TypeError(
      `fetchContractStream: validate must be 'always' or 'never', got ${String(validate)}.`,
    );
  }
  const deliver = (event: ContractEvent<C> | typeof SKIP): void | Promise<void> => {
    if (event === SKIP) return;
    onEvent?.(event);
    return sink?.push(event as unknown as ServerSentEvent);
  };
  // A decoding failure thrown here fails the stream, as a throwing callback does.
  const decoding: EventSink = {
    push(event) {
      const decoded = decodeIncoming(contract, event, validate);
      return decoded instanceof Promise ? decoded.then(deliver) : deliver(decoded);
    },
    release: () => sink?.release(),
    end: (failure) => sink?.end(failure),
  };
  let done: ServerSentEvent | undefined;
  const inner = startEventStream(
    url,
    {
      ...rest,
      onClose(info: CloseInfo) {
        if (info.event?.type === 'done' && info.reason === 'done') done = info.event;
        onClose?.(info);
      },
    },
    decoding,
  );
  const result = inner.finished.then(
    () => (done ? decodeResult(contract, done, validate) : undefined) as ContractResult<C>,
  );
  result.catch(() => {}); // `finished` reports the same failure; `result` may go unobserved
  return Object.defineProperty(inner, 'result', { value: result, enumerable: true }) as Omit<
    ContractStream<C>,
    typeof Symbol.asyncIterator
  >;
}
