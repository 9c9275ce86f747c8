/**
 * ssekit/react: `useEventStream`, a hook over `fetchEventStream` for token streams, progress and
 * live feeds. React is an optional peer dependency. Universal: Web APIs only.
 *
 * @module
 */
export type { ServerSentEvent } from '../protocol/types.ts';
export { defaultToText } from './default-to-text.ts';
export type {
  EventStreamDoneInfo,
  EventStreamRetry,
  EventStreamRetryInfo,
  EventStreamSnapshot,
  EventStreamStatus,
  UseEventStreamOptions,
  UseEventStreamResult,
} from './types.ts';
export {
  type UseContractStreamOptions,
  type UseContractStreamResult,
  useContractStream,
} from './use-contract-stream.ts';
export { useEventStream } from './use-event-stream.ts';
