/**
 * ssekit/server: answer a request with an event stream, from any runtime with Web streams.
 * Universal: Web APIs only. The errors it throws (`RequestError`, `StreamError`) are exported by
 * `ssekit`, with the rest of the package's one error hierarchy.
 *
 * @module
 */
export { type CorsOptions, corsHeaders, corsPreflight } from './cors.ts';
export { createEventStream, readLastEventId } from './create-event-stream.ts';
export {
  type EventStreamHandlerOptions,
  type EventStreamHandlerProducer,
  eventStreamHandler,
} from './event-stream-handler.ts';
export { type JsonErrorResponseOptions, jsonErrorResponse } from './json-error-response.ts';
export type {
  ObservedRun,
  ObservedStream,
  ObserveStream,
  StreamEndReason,
  StreamObserver,
} from './observe.ts';
export type { EventStreamOptions, WithContract } from './options.ts';
export type { PublicError } from './public-error.ts';
export { type ReadJsonBodyOptions, readJsonBody } from './read-json-body.ts';
export {
  type RelayEventStreamOptions,
  type RelayMapResult,
  relayEventStream,
} from './relay-event-stream.ts';
export type {
  ContractProducer,
  ContractProducerResult,
  ContractWriter,
  EventStreamEvent,
  EventStreamProducer,
  EventStreamWriter,
  ProgressInput,
  ProgressOptions,
  SendOptions,
} from './types.ts';
