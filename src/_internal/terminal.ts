/**
 * The terminal and error events of the event-stream formats people read, known in one place: the
 * client ends iteration on them and the relay ends its stream on them.
 *
 * | format | ends with | error |
 * | --- | --- | --- |
 * | ssekit | `event: done` | `event: error` `{"message","code"}` |
 * | OpenAI Chat Completions | `data: [DONE]` | a chunk `{"error":{"message","type","code"}}` |
 * | OpenAI Responses | `response.completed`, `response.incomplete` | `error` `{"code","message"}`, `response.failed` (`response.error`) |
 * | Anthropic Messages | `message_stop` | `event: error` `{"type":"error","error":{"type","message"}}` |
 * | Gemini `streamGenerateContent?alt=sse` | the chunk whose candidates carry `finishReason` | a chunk `{"error":{"code","message","status"}}` |
 * | AI SDK UI message stream | `{"type":"finish"}`, `data: [DONE]` | `{"type":"error","errorText"}` |
 *
 * Terminal events that carry content (the final response, the last Gemini chunk, `message_stop`
 * after `message_delta`) are marked `deliver`: the consumer gets them like any event, then the
 * stream ends. Markers without content (`[DONE]`, ssekit's `done` and `error`) are not delivered.
 * @internal
 */
import type { ServerSentEvent } from '../protocol/types.ts';

/** An error event, decoded. */
export interface TerminalError {
  /** The server's own message (`''` when it sent none). */
  message: string;
  /** The message to show: the server's, with a provider's error type in parentheses. */
  label: string;
  /** The error type or code as the server named it (`overloaded_error`, `UNAVAILABLE`, ...). */
  type: string | undefined;
  /** Transient by its meaning: overloaded, rate-limited, unavailable, an internal error. */
  retryable: boolean;
  /** The payload: parsed JSON when it is JSON, else the raw text. */
  data: unknown;
}

/** How an event ends a stream, or `undefined` for an event that does not. */
export type Terminal =
  | { kind: 'end'; deliver: boolean }
  | { kind: 'error'; deliver: boolean; error: TerminalError };

const END: Terminal = { kind: 'end', deliver: false };
const END_AFTER: Terminal = { kind: 'end', deliver: true };

/** The terminal meaning of `event` in the known formats (see the module comment). */
export function terminalOf(event: ServerSentEvent): Terminal | undefined {
  switch (event.type) {
    case 'message':
      return messageTerminal(event.data);
    case 'done':
      return END;
    case 'error':
      return { kind: 'error', deliver: false, error: errorEvent(event.data) };
    case 'message_stop':
    case 'response.completed':
    case 'response.incomplete':
      return END_AFTER;
    case 'response.failed':
      return { kind: 'error', deliver: true, error: failedResponse(parseJson(event.data)) };
    default:
      return undefined;
  }
}

/** The markers that may end a data-only stream; JSON is parsed only when one is present. */
const MARKERS = [
  '"error"',
  '"finish"',
  'finishReason',
  'message_stop',
  'response.completed',
  'response.incomplete',
  'response.failed',
];

// Unnamed events: OpenAI Chat, Gemini and the AI SDK send only `data:`; some proxies also strip
// the `event:` lines of Anthropic and Responses streams, whose payloads repeat the type.
function messageTerminal(data: string): Terminal | undefined {
  if (data.charCodeAt(0) !== 0x7b /* { */) {
    return data.length <= 16 && data.trim() === '[DONE]' ? END : undefined;
  }
  if (!MARKERS.some((marker) => data.includes(marker))) return undefined;
  const value = parseJson(data);
  if (!isObject(value)) return undefined;
  const type = typeof value.type === 'string' ? value.type : undefined;
  switch (type) {
    case 'finish':
    case 'message_stop':
    case 'response.completed':
    case 'response.incomplete':
      return END_AFTER;
    case 'response.failed':
      return { kind: 'error', deliver: true, error: failedResponse(value) };
    case 'error':
      return { kind: 'error', deliver: false, error: errorPayload(value) };
  }
  if (isObject(value.error) && !('choices' in value) && !('candidates' in value)) {
    return { kind: 'error', deliver: false, error: errorPayload(value) };
  }
  return geminiFinished(value.candidates) ? END_AFTER : undefined;
}

// Gemini: the chunk in which every candidate carries its finishReason is the last one.
function geminiFinished(candidates: unknown): boolean {
  if (!Array.isArray(candidates) || candidates.length === 0) return false;
  return candidates.every(
    (candidate) =>
      isObject(candidate) &&
      typeof candidate.finishReason === 'string' &&
      candidate.finishReason !== '',
  );
}

function errorEvent(data: string): TerminalError {
  const value = parseJson(data);
  if (isObject(value)) return errorPayload(value);
  const text = typeof value === 'string' ? value : data;
  return decoded(text, undefined, false, value);
}

/**
 * Every error payload shape: nested (`{"error":{"type","message"}}`: Anthropic, OpenAI Chat,
 * Gemini), flat with a `type: "error"` (OpenAI Responses `{"code","message"}`, AI SDK
 * `{"errorText"}`), or ssekit's own `{"message","code"}`.
 */
function errorPayload(payload: Record<string, unknown>): TerminalError {
  const nested = isObject(payload.error) ? payload.error : undefined;
  if (nested) {
    const type = firstString(nested.type, nested.status, nested.code) ?? numberText(nested.code);
    return decoded(text(nested.message), type, true, payload);
  }
  const message = firstString(payload.message, payload.errorText) ?? '';
  if (payload.type === 'error') return decoded(message, firstString(payload.code), true, payload);
  return decoded(message, firstString(payload.code), false, payload);
}

// OpenAI Responses: `response.failed` carries the failed response, its error inside.
function failedResponse(payload: unknown): TerminalError {
  const response = isObject(payload) && isObject(payload.response) ? payload.response : undefined;
  const error = response && isObject(response.error) ? response.error : undefined;
  const type = error ? firstString(error.code, error.type) : undefined;
  return decoded(error ? text(error.message) : 'The response failed', type, true, payload);
}

function decoded(
  message: string,
  type: string | undefined,
  provider: boolean,
  data: unknown,
): TerminalError {
  const label =
    provider && type !== undefined && !message.includes(type)
      ? message === ''
        ? type
        : `${message} (${type})`
      : message;
  // Only a provider's types have a known meaning; an application's own codes are not guessed at.
  const retryable = provider && type !== undefined && RETRYABLE.test(type);
  return { message, label, type, retryable, data };
}

/** Error types that name a transient condition, in every provider's spelling. */
const RETRYABLE =
  /overload|rate.?limit|too.?many|unavailable|resource.?exhausted|server.?error|api.?error|internal|timeout|deadline.?exceeded|^(429|5\d\d)$/i;

function parseJson(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    return data; // not JSON: the raw text is the payload
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function firstString(...values: unknown[]): string | undefined {
  for (const value of values) if (typeof value === 'string' && value !== '') return value;
  return undefined;
}

function numberText(value: unknown): string | undefined {
  return typeof value === 'number' ? String(value) : undefined;
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}
