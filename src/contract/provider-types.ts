/**
 * The data types of the provider contracts (`providers.ts`), written out so that the published
 * declarations name them (isolated declarations) and an app can import them. They describe what
 * the contracts check; every object is open (fields not listed pass through).
 *
 * @module
 */
import type { Schema } from './schema.ts';

/** `usage` of an OpenAI Chat Completions chunk. */
export interface OpenAIUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/** One chunk of an OpenAI Chat Completions stream. */
export interface OpenAIChatChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: {
    index: number;
    delta: {
      role?: string | undefined;
      content?: string | null | undefined;
      refusal?: string | null | undefined;
      tool_calls?:
        | {
            index: number;
            id?: string | undefined;
            type?: 'function' | undefined;
            function?: { name?: string | undefined; arguments?: string | undefined } | undefined;
          }[]
        | undefined;
    };
    finish_reason?: string | null | undefined;
  }[];
  usage?: OpenAIUsage | null | undefined;
}

/** The `response` object of OpenAI Responses lifecycle events. */
export interface OpenAIResponse {
  id: string;
  object: 'response';
  status: string;
  model: string;
  output: unknown[];
  usage?: { input_tokens: number; output_tokens: number; total_tokens: number } | null | undefined;
}

/** An OpenAI Responses event: its `type` and `sequence_number`, and the fields of its kind. */
export type ResponsesEvent<F> = {
  [K in keyof ({ type: string; sequence_number: number } & F)]: ({
    type: string;
    sequence_number: number;
  } & F)[K];
} & {};

/** Fields of Responses content-part events. */
export interface ResponsesPartFields {
  item_id: string;
  output_index: number;
  content_index: number;
  part?: unknown;
}

/** Fields of Responses text events. */
export interface ResponsesContentFields {
  item_id: string;
  output_index: number;
  content_index: number;
}

/** Fields of Responses function-call argument events. */
export interface ResponsesArgumentsFields {
  item_id: string;
  output_index: number;
}

type Lifecycle = Schema<ResponsesEvent<{ response: OpenAIResponse }>>;
type Item = Schema<ResponsesEvent<{ output_index: number; item?: unknown }>>;
type TextDelta = Schema<ResponsesEvent<ResponsesContentFields & { delta: string }>>;

/** The events of an OpenAI Responses stream, by name. */
export type OpenAIResponsesEventSchemas = {
  'response.created': Lifecycle;
  'response.in_progress': Lifecycle;
  'response.completed': Lifecycle;
  'response.incomplete': Lifecycle;
  'response.output_item.added': Item;
  'response.output_item.done': Item;
  'response.content_part.added': Schema<ResponsesEvent<ResponsesPartFields>>;
  'response.content_part.done': Schema<ResponsesEvent<ResponsesPartFields>>;
  'response.output_text.delta': TextDelta;
  'response.output_text.done': Schema<ResponsesEvent<ResponsesContentFields & { text: string }>>;
  'response.refusal.delta': TextDelta;
  'response.function_call_arguments.delta': Schema<
    ResponsesEvent<ResponsesArgumentsFields & { delta: string }>
  >;
  'response.function_call_arguments.done': Schema<
    ResponsesEvent<ResponsesArgumentsFields & { arguments: string }>
  >;
};

/** `usage` of Anthropic `message_start` and `message_delta`. */
export interface AnthropicUsage {
  input_tokens?: number | undefined;
  output_tokens: number;
}

/** The events of an Anthropic Messages stream, by name. */
export type AnthropicEventSchemas = {
  message_start: Schema<{
    type: 'message_start';
    message: {
      id: string;
      type: 'message';
      role: 'assistant';
      model: string;
      content: unknown[];
      stop_reason: string | null;
      usage: AnthropicUsage;
    };
  }>;
  content_block_start: Schema<{
    type: 'content_block_start';
    index: number;
    content_block:
      | { type: 'text'; text: string }
      | { type: 'tool_use'; id: string; name: string; input?: unknown }
      | { type: 'thinking'; thinking: string };
  }>;
  content_block_delta: Schema<{
    type: 'content_block_delta';
    index: number;
    delta:
      | { type: 'text_delta'; text: string }
      | { type: 'input_json_delta'; partial_json: string }
      | { type: 'thinking_delta'; thinking: string }
      | { type: 'signature_delta'; signature: string };
  }>;
  content_block_stop: Schema<{ type: 'content_block_stop'; index: number }>;
  message_delta: Schema<{
    type: 'message_delta';
    delta: {
      stop_reason?: string | null | undefined;
      stop_sequence?: string | null | undefined;
    };
    usage: AnthropicUsage;
  }>;
  message_stop: Schema<{ type: 'message_stop' }>;
  ping: Schema<{ type: 'ping' }>;
};

/** One chunk of a Gemini `streamGenerateContent?alt=sse` stream. */
export interface GeminiChunk {
  candidates?:
    | {
        content?:
          | {
              role?: string | undefined;
              parts?:
                | {
                    text?: string | undefined;
                    thought?: boolean | undefined;
                    functionCall?: { name: string; args?: unknown } | undefined;
                  }[]
                | undefined;
            }
          | undefined;
        finishReason?: string | undefined;
        index?: number | undefined;
      }[]
    | undefined;
  usageMetadata?:
    | {
        promptTokenCount?: number | undefined;
        candidatesTokenCount?: number | undefined;
        totalTokenCount?: number | undefined;
        thoughtsTokenCount?: number | undefined;
      }
    | undefined;
  modelVersion?: string | undefined;
  responseId?: string | undefined;
}

/** One part of an AI SDK UI message stream (the known part types; others pass as they are). */
export type AiSdkUiPart =
  | { type: 'start'; messageId?: string | undefined; messageMetadata?: unknown }
  | { type: 'start-step' }
  | { type: 'text-start'; id: string }
  | { type: 'text-delta'; id: string; delta: string }
  | { type: 'text-end'; id: string }
  | { type: 'reasoning-start'; id: string }
  | { type: 'reasoning-delta'; id: string; delta: string }
  | { type: 'reasoning-end'; id: string }
  | { type: 'tool-input-start'; toolCallId: string; toolName: string }
  | { type: 'tool-input-delta'; toolCallId: string; inputTextDelta: string }
  | { type: 'tool-input-available'; toolCallId: string; toolName: string; input?: unknown }
  | { type: 'tool-output-available'; toolCallId: string; output?: unknown }
  | { type: 'source-url'; sourceId: string; url: string; title?: string | undefined }
  | { type: 'message-metadata'; messageMetadata?: unknown }
  | { type: 'finish-step' }
  | { type: 'finish'; finishReason?: string | undefined; messageMetadata?: unknown }
  | { type: 'abort' };
