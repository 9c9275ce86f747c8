/**
 * ssekit/server: answer a request with an event stream, from any runtime with Web streams.
 * Universal: Web APIs only.
 *
 * @module
 */
export { RequestError, StreamError } from '../errors.ts';
export { type CorsOptions, corsHeaders, corsPreflight } from './cors.ts';
export { createEventStream, readLastEventId } from './create-event-stream.ts';
export {
  type EventStreamHandlerOptions,
  type EventStreamHandlerProducer,
  eventStreamHandler,
} from './event-stream-handler.ts';
export {
  createEventStreamHeaders,
  type EventStreamHeadersOptions,
} from './event-stream-headers.ts';
export { type JsonErrorResponseOptions, jsonErrorResponse } from './json-error-response.ts';
export type { EventStreamOptions } from './options.ts';
export { defaultPublicError, INTERNAL_ERROR, type PublicError } from './public-error.ts';
export { type ReadJsonBodyOptions, readJsonBody } from './read-json-body.ts';
export {
  type RelayEventStreamOptions,
  type RelayMapResult,
  relayEventStream,
} from './relay-event-stream.ts';
export type {
  EventStreamEvent,
  EventStreamProducer,
  EventStreamProducerResult,
  EventStreamWriter,
  ProgressInput,
  ProgressOptions,
  SendOptions,
} from './types.ts';
