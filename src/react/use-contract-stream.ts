import { textDelta } from '../_internal/text-delta.ts';
import { startContractStream } from '../client/fetch-contract-stream.ts';
import type { startEventStream } from '../client/fetch-event-stream.ts';
import type { AnyContract, ContractEvent, ValidateMode } from '../contract/define-contract.ts';
import type { UseEventStreamOptions, UseEventStreamResult } from './types.ts';
import { useStream } from './use-event-stream.ts';

/** Options of {@link useContractStream}: `useEventStream`'s, typed by the contract. */
export interface UseContractStreamOptions<C extends AnyContract>
  extends Omit<UseEventStreamOptions, 'toText' | 'onEvent'> {
  /** The stream's contract (`defineContract` from `ssekit/contract`), shared with the server. */
  contract: C;
  /** @default 'always' (see `fetchContractStream`) */
  validate?: ValidateMode | undefined;
  /**
   * The text an event adds to `text`.
   * @default the data of `message` and `token` events when it is a string, and the text of known
   * shapes (`{text}`, `{delta}`, the provider formats), as `defaultToText` reads them
   */
  toText?: ((event: ContractEvent<C>) => string | null | undefined) | undefined;
  /** Each event, parsed and validated, unbatched. */
  onEvent?: ((event: ContractEvent<C>) => void) | undefined;
}

/** What {@link useContractStream} returns: `events` typed by the contract. */
export interface UseContractStreamResult<C extends AnyContract>
  extends Omit<UseEventStreamResult, 'events'> {
  /** The last `maxEvents` events, parsed and validated, oldest first. */
  events: readonly ContractEvent<C>[];
}

/**
 * `useEventStream` under a contract: `events`, `onEvent` and `toText` get a union of typed
 * events, parsed and validated (`fetchContractStream`). A mismatch ends the stream with
 * `status: 'error'` and a `ContractError` as `error` (and `onError`): the bad event never reaches
 * your component.
 *
 * @example
 * ```tsx
 * import { useContractStream } from 'ssekit/react';
 * import { chat } from './contract';
 *
 * function Answer() {
 *   const { events, status, start } = useContractStream('/api/chat', { contract: chat });
 *   const usage = events.findLast((event) => event.type === 'usage');
 *   return <button onClick={() => start({ prompt: 'Hi' })}>{status} {usage?.data.outputTokens}</button>;
 * }
 * ```
 */
export function useContractStream<const C extends AnyContract>(
  url: string | URL,
  options: UseContractStreamOptions<C>,
): UseContractStreamResult<C> {
  const hookOptions = {
    ...options,
    toText: options.toText ?? contractText,
  } as unknown as UseEventStreamOptions;
  return useStream(
    url,
    hookOptions,
    startContractStream as unknown as typeof startEventStream,
  ) as unknown as UseContractStreamResult<C>;
}

/** The default `toText` of a decoded event: `defaultToText` on its data as sent. */
function contractText({ type, data, id }: { type: string; data: unknown; id: string }) {
  return textDelta({
    type,
    data: typeof data === 'string' ? data : (JSON.stringify(data) ?? ''),
    id,
  });
}
