/**
 * ssekit/client: consume event streams over fetch with any method and body, resuming with
 * `Last-Event-ID` instead of restarting. Universal: Web APIs only.
 *
 * @module
 */

export type { ServerSentEvent } from '../protocol/types.ts';
export { EventSource, type EventSourceInit } from './event-source.ts';
export {
  type CloseInfo,
  type EventStream,
  type FetchEventStreamOptions,
  fetchEventStream,
  isDefaultTerminal,
} from './fetch-event-stream.ts';
export { isRetryable, type RetryOptions } from './retry.ts';
export type { FetchLike, ReadyState, ResumeBuilder, ResumeContext } from './types.ts';
