/**
 * ssekit/client: consume event streams over fetch with any method and body. It resumes, never
 * re-runs: a stream that delivered events reconnects only to resume it with `Last-Event-ID` (or a
 * GET), and the terminal events of ssekit, OpenAI, Anthropic, Gemini and the AI SDK are known.
 * Universal: Web APIs only.
 *
 * @module
 */

export type { ServerSentEvent } from '../protocol/types.ts';
export { EventSource, type EventSourceInit } from './event-source.ts';
export {
  type ContractStream,
  type FetchContractStreamOptions,
  fetchContractStream,
} from './fetch-contract-stream.ts';
export {
  type CloseInfo,
  type EventStream,
  type FetchEventStreamOptions,
  fetchEventStream,
} from './fetch-event-stream.ts';
export { isRetryable, type RetryOptions } from './retry.ts';
export { defaultTerminal, type TerminalRule, type TerminalVerdict } from './terminal.ts';
export type {
  FetchLike,
  ReadyState,
  ResumeBuilder,
  ResumeContext,
  StopResult,
} from './types.ts';
