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

type Fields = Record<string, unknown>;

const END: Terminal = { kind: 'end', deliver: false };
const END_AFTER: Terminal = { kind: 'end', deliver: true };

/** The terminal meaning of `event` in the known formats (see the module comment). */
export function terminalOf({ type, data }: ServerSentEvent): Terminal | undefined {
  if (type === 'done') return END;
  if (type !== 'message') return typed(type, data);
  // Unnamed events: OpenAI Chat, Gemini and the AI SDK send only `data:`; some proxies also strip
  // the `event:` lines of Anthropic and Responses streams, whose payloads repeat the type.
  if (data.charCodeAt(0) !== 0x7b /* { */) return data.trim() === '[DONE]' ? END : undefined;
  // An object whose first key is `id` is a chat-completion chunk (OpenAI and the servers
  // compatible with it, OpenRouter's error chunks included: they carry `choices`): never an end.
  // Told from its first six characters, where the scan for markers would read all of it (160 ns
  // for a real OpenAI chunk); its third one first, as a call to startsWith costs every event.
  if (data.charCodeAt(2) === 0x69 /* i */ && data.startsWith('{"id":')) return undefined;
  // JSON is parsed only when a marker is present: most chunks of a token stream have none.
  if (!MARKERS.test(data)) return undefined;
  const value = parseJson(data);
  if (!isObject(value)) return undefined;
  if (value.type === 'finish') return END_AFTER;
  const terminal = typed(value.type, data, value);
  if (terminal) return terminal;
  if (isObject(value.error) && !('choices' in value) && !('candidates' in value))
    return { kind: 'error', deliver: false, error: errorOf(value, data) };
  // Gemini: the chunk in which every candidate carries its finishReason is the last one.
  const candidates = value.candidates;
  return Array.isArray(candidates) &&
    candidates.length > 0 &&
    candidates.every((candidate) => isObject(candidate) && firstString(candidate.finishReason))
    ? END_AFTER
    : undefined;
}

const MARKERS =
  /"(?:error|finish)"|finishReason|message_stop|response\.(?:completed|incomplete|failed)/;

/**
 * The types that end a stream, as an event's name or as a JSON payload's `type`; `value` is the
 * parsed payload when it already is (`data` is parsed only for an error).
 */
function typed(type: unknown, data: string, value?: unknown): Terminal | undefined {
  switch (type) {
    case 'message_stop':
    case 'response.completed':
    case 'response.incomplete':
      return END_AFTER;
    case 'response.failed': {
      // OpenAI Responses: the failed response, its error inside.
      value ??= parseJson(data);
      const response = isObject(value) ? value.response : undefined;
      const error = isObject(response) && isObject(response.error) ? response.error : undefined;
      const message = error ? text(error.message) : 'The response failed';
      const errorType = error && firstString(error.code, error.type);
      return { kind: 'error', deliver: true, error: decoded(message, errorType, true, value) };
    }
    case 'error':
      return { kind: 'error', deliver: false, error: errorOf(value ?? parseJson(data), data) };
  }
  return undefined;
}

/**
 * Every error payload shape: nested (`{"error":{"type","message"}}`: Anthropic, OpenAI Chat,
 * Gemini), flat with a `type: "error"` (OpenAI Responses `{"code","message"}`, AI SDK
 * `{"errorText"}`), ssekit's own `{"message","code"}`, or plain text.
 */
function errorOf(payload: unknown, data: string): TerminalError {
  if (!isObject(payload))
    return decoded(typeof payload === 'string' ? payload : data, undefined, false, payload);
  const nested = payload.error;
  if (isObject(nested)) {
    const code = typeof nested.code === 'number' ? String(nested.code) : nested.code;
    return decoded(
      text(nested.message),
      firstString(nested.type, nested.status, code),
      true,
      payload,
    );
  }
  const message = firstString(payload.message, payload.errorText) ?? '';
  return decoded(message, firstString(payload.code), payload.type === 'error', payload);
}

function decoded(
  message: string,
  type: string | undefined,
  provider: boolean,
  data: unknown,
): TerminalError {
  // Only a provider's types have a known meaning; an application's own codes are not guessed at.
  const named = provider && type !== undefined;
  const label =
    named && !message.includes(type) ? (message ? `${message} (${type})` : type) : message;
  return { message, label, type, retryable: named && RETRYABLE.test(type), data };
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

function isObject(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function firstString(...values: unknown[]): string | undefined {
  return values.find((value) => typeof value === 'string' && value !== '') as string | undefined;
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}
