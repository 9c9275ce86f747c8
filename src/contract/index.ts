/**
 * ssekit/contract: a stream's events defined once, as a map from event name to a Standard Schema
 * (zod, valibot, arktype, ...), shared by the server module and the client without code
 * generation. The server's `send` is typed and checked by it, the client yields a union of typed,
 * validated events, and the contract describes itself as OpenAPI 3.2 and AsyncAPI 3. Universal,
 * no dependencies (the Standard Schema interfaces are copied as types).
 *
 * @module
 */
export {
  type AnyContract,
  type ContractData,
  type ContractEvent,
  type ContractEventInput,
  type ContractEventName,
  type ContractInput,
  type ContractOptions,
  type ContractResult,
  type ContractResultInput,
  defineContract,
  type EventContract,
  type EventSchemas,
  type ReservedEventName,
  type UnknownEvents,
  type ValidateMode,
} from './define-contract.ts';
export {
  type AsyncAPIOptions,
  type DocumentOptions,
  type OpenAPIOptions,
  toAsyncAPI,
  toOpenAPI,
} from './documents.ts';
export type {
  AiSdkUiPart,
  AnthropicEventSchemas,
  AnthropicUsage,
  GeminiChunk,
  OpenAIChatChunk,
  OpenAIResponse,
  OpenAIResponsesEventSchemas,
  OpenAIUsage,
  ResponsesArgumentsFields,
  ResponsesContentFields,
  ResponsesEvent,
  ResponsesPartFields,
} from './provider-types.ts';
export {
  aiSdkUiContract,
  anthropicContract,
  geminiContract,
  openaiChatContract,
  openaiResponsesContract,
} from './providers.ts';
export type { Infer, Schema } from './schema.ts';
export * as s from './schema.ts';
export type { StandardJSONSchemaV1, StandardSchemaV1 } from './standard-schema.ts';
export { checkOutgoing, decodeIncoming, type OutgoingEvent, SKIP } from './validate.ts';
