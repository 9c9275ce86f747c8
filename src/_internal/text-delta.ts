/**
 * The text an event adds to a token stream's answer, for the formats people read: the React hook's
 * `text` and the CLI's `--text` are both this.
 *
 * - Data that is a JSON object of a known shape gives its text: `{"text"}`, `{"delta"}` (a
 *   string), OpenAI Chat `choices[0].delta.content`, OpenAI Responses
 *   `response.output_text.delta`, Anthropic `content_block_delta` with a `text_delta`, Gemini
 *   `candidates[0].content.parts[].text` (thoughts left out), AI SDK `text-delta`. The other
 *   events of those formats (metadata, tool calls, reasoning, usage) give `''`.
 * - Anything else is text as sent when it comes as a `message` or `token` event (`He said "yes"`,
 *   `"quoted"`, `{} ` and `42` included), and no text otherwise (`progress`, ...).
 * @internal
 */
import type { ServerSentEvent } from '../protocol/types.ts';

/** The text delta of `event`: `undefined` for an event that adds none. */
export function textDelta(event: ServerSentEvent): string | undefined {
  const { data, type } = event;
  // Only a `{` can start an object worth reading; checking first keeps plain tokens cheap.
  const known = data.charCodeAt(0) === 0x7b ? knownText(data) : undefined;
  if (known !== undefined) return known;
  return type === 'message' || type === 'token' ? data : undefined;
}

function knownText(data: string): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return undefined; // not JSON: plain text
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const fields = value as Record<string, unknown>;
  if (typeof fields.type === 'string') {
    const text = typedText(fields.type, fields);
    if (text !== undefined) return text;
  }
  if (typeof fields.text === 'string') return fields.text;
  if (typeof fields.delta === 'string') return fields.delta;
  if (Array.isArray(fields.choices)) return chatText(fields.choices);
  if (Array.isArray(fields.candidates)) return geminiText(fields.candidates);
  return undefined;
}

/** The text of a typed provider event; `''` for its other events; undefined for unknown types. */
function typedText(type: string, fields: Record<string, unknown>): string | undefined {
  switch (type) {
    case 'text-delta': // AI SDK UI message stream
    case 'response.output_text.delta': // OpenAI Responses
      return typeof fields.delta === 'string' ? fields.delta : '';
    case 'content_block_delta': {
      // Anthropic: text_delta, or input_json_delta / thinking_delta / signature_delta
      const delta = fields.delta as { type?: unknown; text?: unknown } | null | undefined;
      return delta?.type === 'text_delta' && typeof delta.text === 'string' ? delta.text : '';
    }
  }
  return PROVIDER_TYPE.test(type) ? '' : undefined;
}

/**
 * The other event types of the known formats: OpenAI Responses (`response.*`), Anthropic, and the
 * AI SDK UI message stream's parts.
 */
const PROVIDER_TYPE =
  /^(?:response\.|(?:message|content_block)_(?:start|delta|stop)$|ping$|error$|start$|finish$|abort$|file$|message-metadata$|(?:start|finish)-step$|(?:text|reasoning)-(?:start|delta|end)$|(?:source|tool|data)-)/;

function chatText(choices: unknown[]): string {
  const choice = choices[0] as { delta?: { content?: unknown }; text?: unknown } | undefined;
  const content = choice?.delta?.content ?? choice?.text; // `text`: the legacy completions API
  return typeof content === 'string' ? content : '';
}

function geminiText(candidates: unknown[]): string {
  const parts = (candidates[0] as { content?: { parts?: unknown } } | undefined)?.content?.parts;
  if (!Array.isArray(parts)) return '';
  let text = '';
  for (const part of parts as Array<{ text?: unknown; thought?: unknown }>) {
    if (typeof part?.text === 'string' && part.thought !== true) text += part.text;
  }
  return text;
}
