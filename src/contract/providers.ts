/**
 * The provider formats as ready contracts, for `fetchContractStream` and `useContractStream`
 * against the providers' own endpoints (or a relay that forwards them): OpenAI Chat Completions
 * and Responses, Anthropic Messages, Gemini `streamGenerateContent?alt=sse`, and the AI SDK UI
 * message stream. Written with ssekit's own schema builders (no schema library at run time).
 *
 * They check what a client relies on (the event names, the fields that carry text, tool calls,
 * stop reasons and usage) and let everything else through: objects are open, events the contract
 * does not list are skipped (`unknownEvents: 'ignore'`), and the AI SDK's part types and
 * Anthropic's delta types not listed here pass as they are, so a provider that adds a field or an
 * event does not break a deployed client. Terminal markers (`[DONE]`) and error events end the
 * stream as they do for `fetchEventStream` (a `ServerError` for errors).
 *
 * @module
 */
import { defineContract, type EventContract } from './define-contract.ts';
import type {
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
import {
  array,
  boolean,
  literal,
  nullable,
  number,
  object,
  optional,
  type Schema,
  string,
  unknown,
  variants,
} from './schema.ts';

const openaiUsage: Schema<OpenAIUsage> = object({
  prompt_tokens: number(),
  completion_tokens: number(),
  total_tokens: number(),
});

/** One chunk of an OpenAI Chat Completions stream (`data: {...}`, no event names). */
const chatCompletionChunk: Schema<OpenAIChatChunk> = object({
  id: string(),
  object: literal('chat.completion.chunk'),
  created: number(),
  model: string(),
  choices: array(
    object({
      index: number(),
      delta: object({
        role: optional(string()),
        content: optional(nullable(string())),
        refusal: optional(nullable(string())),
        tool_calls: optional(
          array(
            object({
              index: number(),
              id: optional(string()),
              type: optional(literal('function')),
              function: optional(
                object({ name: optional(string()), arguments: optional(string()) }),
              ),
            }),
          ),
        ),
      }),
      finish_reason: optional(nullable(string())),
    }),
  ),
  usage: optional(nullable(openaiUsage)),
});

/** OpenAI Chat Completions (`stream: true`): every chunk is a `message` event. */
export const openaiChatContract: EventContract<{ message: typeof chatCompletionChunk }> =
  defineContract(
    { message: chatCompletionChunk },
    { unknownEvents: 'ignore', title: 'OpenAI Chat Completions stream' },
  );

const responseObject: Schema<OpenAIResponse> = object({
  id: string(),
  object: literal('response'),
  status: string(),
  model: string(),
  output: array(unknown()),
  usage: optional(
    nullable(object({ input_tokens: number(), output_tokens: number(), total_tokens: number() })),
  ),
});
const responseEvent = <const F extends Record<string, Schema<unknown>>>(fields: F) =>
  object({ type: string(), sequence_number: number(), ...fields });
const lifecycle: Schema<ResponsesEvent<{ response: OpenAIResponse }>> = responseEvent({
  response: responseObject,
});
const item: Schema<ResponsesEvent<{ output_index: number; item?: unknown }>> = responseEvent({
  output_index: number(),
  item: unknown(),
});
const part: Schema<ResponsesEvent<ResponsesPartFields>> = responseEvent({
  item_id: string(),
  output_index: number(),
  content_index: number(),
  part: unknown(),
});
const textDelta: Schema<ResponsesEvent<ResponsesContentFields & { delta: string }>> = responseEvent(
  {
    item_id: string(),
    output_index: number(),
    content_index: number(),
    delta: string(),
  },
);
const textDone: Schema<ResponsesEvent<ResponsesContentFields & { text: string }>> = responseEvent({
  item_id: string(),
  output_index: number(),
  content_index: number(),
  text: string(),
});
const argumentsDelta: Schema<ResponsesEvent<ResponsesArgumentsFields & { delta: string }>> =
  responseEvent({
    item_id: string(),
    output_index: number(),
    delta: string(),
  });
const argumentsDone: Schema<ResponsesEvent<ResponsesArgumentsFields & { arguments: string }>> =
  responseEvent({
    item_id: string(),
    output_index: number(),
    arguments: string(),
  });

const responsesEvents: OpenAIResponsesEventSchemas = {
  'response.created': lifecycle,
  'response.in_progress': lifecycle,
  'response.completed': lifecycle,
  'response.incomplete': lifecycle,
  'response.output_item.added': item,
  'response.output_item.done': item,
  'response.content_part.added': part,
  'response.content_part.done': part,
  'response.output_text.delta': textDelta,
  'response.output_text.done': textDone,
  'response.refusal.delta': textDelta,
  'response.function_call_arguments.delta': argumentsDelta,
  'response.function_call_arguments.done': argumentsDone,
};

/** OpenAI Responses (`stream: true`): named events; `response.completed` ends the stream. */
export const openaiResponsesContract: EventContract<typeof responsesEvents> = defineContract(
  responsesEvents,
  { unknownEvents: 'ignore', title: 'OpenAI Responses stream' },
);

const anthropicUsage: Schema<AnthropicUsage> = object({
  input_tokens: optional(number()),
  output_tokens: number(),
});
const anthropicEvents: AnthropicEventSchemas = {
  message_start: object({
    type: literal('message_start'),
    message: object({
      id: string(),
      type: literal('message'),
      role: literal('assistant'),
      model: string(),
      content: array(unknown()),
      stop_reason: nullable(string()),
      usage: anthropicUsage,
    }),
  }),
  content_block_start: object({
    type: literal('content_block_start'),
    index: number(),
    content_block: variants(
      'type',
      {
        text: { text: string() },
        tool_use: { id: string(), name: string(), input: unknown() },
        thinking: { thinking: string() },
      },
      { open: true },
    ),
  }),
  content_block_delta: object({
    type: literal('content_block_delta'),
    index: number(),
    delta: variants(
      'type',
      {
        text_delta: { text: string() },
        input_json_delta: { partial_json: string() },
        thinking_delta: { thinking: string() },
        signature_delta: { signature: string() },
      },
      { open: true },
    ),
  }),
  content_block_stop: object({ type: literal('content_block_stop'), index: number() }),
  message_delta: object({
    type: literal('message_delta'),
    delta: object({
      stop_reason: optional(nullable(string())),
      stop_sequence: optional(nullable(string())),
    }),
    usage: anthropicUsage,
  }),
  message_stop: object({ type: literal('message_stop') }),
  ping: object({ type: literal('ping') }),
};

/** Anthropic Messages (`stream: true`): named events; `message_stop` ends the stream. */
export const anthropicContract: EventContract<typeof anthropicEvents> = defineContract(
  anthropicEvents,
  { unknownEvents: 'ignore', title: 'Anthropic Messages stream' },
);

const geminiChunk: Schema<GeminiChunk> = object({
  candidates: optional(
    array(
      object({
        content: optional(
          object({
            role: optional(string()),
            parts: optional(
              array(
                object({
                  text: optional(string()),
                  thought: optional(boolean()),
                  functionCall: optional(object({ name: string(), args: optional(unknown()) })),
                }),
              ),
            ),
          }),
        ),
        finishReason: optional(string()),
        index: optional(number()),
      }),
    ),
  ),
  usageMetadata: optional(
    object({
      promptTokenCount: optional(number()),
      candidatesTokenCount: optional(number()),
      totalTokenCount: optional(number()),
      thoughtsTokenCount: optional(number()),
    }),
  ),
  modelVersion: optional(string()),
  responseId: optional(string()),
});

/**
 * Gemini `streamGenerateContent?alt=sse`: every chunk is a `message` event; the chunk whose
 * candidate has a `finishReason` ends the stream.
 */
export const geminiContract: EventContract<{ message: typeof geminiChunk }> = defineContract(
  { message: geminiChunk },
  { unknownEvents: 'ignore', title: 'Gemini streamGenerateContent (alt=sse)' },
);

const uiMessagePart: Schema<AiSdkUiPart> = variants(
  'type',
  {
    start: { messageId: optional(string()), messageMetadata: optional(unknown()) },
    'start-step': {},
    'text-start': { id: string() },
    'text-delta': { id: string(), delta: string() },
    'text-end': { id: string() },
    'reasoning-start': { id: string() },
    'reasoning-delta': { id: string(), delta: string() },
    'reasoning-end': { id: string() },
    'tool-input-start': { toolCallId: string(), toolName: string() },
    'tool-input-delta': { toolCallId: string(), inputTextDelta: string() },
    'tool-input-available': { toolCallId: string(), toolName: string(), input: unknown() },
    'tool-output-available': { toolCallId: string(), output: unknown() },
    'source-url': { sourceId: string(), url: string(), title: optional(string()) },
    'message-metadata': { messageMetadata: unknown() },
    'finish-step': {},
    finish: { finishReason: optional(string()), messageMetadata: optional(unknown()) },
    abort: {},
  },
  { open: true }, // data-* parts, files and what later versions add pass through
);

/**
 * The AI SDK UI message stream (`toUIMessageStreamResponse()`): every part is a `message` event,
 * told apart by `type`; `finish` (then `[DONE]`) ends the stream. Part types not listed (`data-*`
 * parts, files, later additions) pass as they are: handle them in a `default` branch.
 */
export const aiSdkUiContract: EventContract<{ message: typeof uiMessagePart }> = defineContract(
  { message: uiMessagePart },
  { unknownEvents: 'ignore', title: 'AI SDK UI message stream' },
);
