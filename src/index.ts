/**
 * ssekit: the `text/event-stream` protocol (a spec-exact decoder and a safe encoder) and the
 * package's errors. Universal: Web APIs only.
 *
 * @module
 */
export {
  ContractError,
  type ContractErrorOptions,
  type ContractIssue,
  EngineError,
  type EngineErrorOptions,
  HubError,
  type HubErrorCode,
  ParseError,
  RequestError,
  ResponseError,
  type ResponseErrorOptions,
  ServerError,
  type ServerErrorOptions,
  SsekitError,
  type SsekitErrorCode,
  type SsekitErrorOptions,
  StreamError,
  type TailGap,
} from './errors.ts';
export { EventStreamDecoder, type EventStreamDecoderOptions } from './protocol/decoder-stream.ts';
export { encodeComment, encodeEvent } from './protocol/encode.ts';
export { EventStreamEncoder } from './protocol/encoder-stream.ts';
export {
  createParser,
  DEFAULT_MAX_EVENT_SIZE,
  type Parser,
  type ParserOptions,
} from './protocol/parser.ts';
export type { EventInput, ServerSentEvent } from './protocol/types.ts';
