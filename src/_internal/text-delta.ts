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
export function textDelta({ data, type }: ServerSentEvent): string | undefined {
  // Only a `{` can start an object worth reading; checking first keeps plain tokens cheap.
  const known = data[0] === '{' ? knownText(data) : undefined;
  return known ?? (type === 'message' || type === 'token' ? data : undefined);
}

type Fields = Record<string, unknown> | null | undefined;

function knownText(data: string): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return undefined; // not JSON: plain text
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const { type, text, delta, choices, candidates } = value as Record<string, unknown>;
  // AI SDK UI message stream, OpenAI Responses
  if (type === 'text-delta' || type === 'response.output_text.delta') return string(delta) ?? '';
  // Anthropic: text_delta, or input_json_delta / thinking_delta / signature_delta
  if (type === 'content_block_delta')
    return ((delta as Fields)?.type === 'text_delta' && string((delta as Fields)?.text)) || '';
  if (typeof type === 'string' && PROVIDER_TYPE.test(type)) return '';
  if (typeof text === 'string') return text;
  if (typeof delta === 'string') return delta;
  if (Array.isArray(choices)) {
    // OpenAI Chat; `text`: the legacy completions API
    const choice = choices[0] as Fields;
    return string((choice?.delta as Fields)?.content ?? choice?.text) ?? '';
  }
  if (Array.isArray(candidates)) {
    // Gemini: the text parts of the first candidate, thoughts left out
    const parts = ((candidates[0] as Fields)?.content as Fields)?.parts;
    if (!Array.isArray(parts)) return '';
    return parts
      .map((part: Fields) => (part?.thought === true ? '' : (string(part?.text) ?? '')))
      .join('');
  }
  return undefined;
}

/**
 * The other event types of the known formats: OpenAI Responses (`response.*`), Anthropic, and the
 * AI SDK UI message stream's parts.
 */
const PROVIDER_TYPE =
  /^(?:response\.|(?:message|content_block)_(?:start|delta|stop)$|ping$|error$|start$|finish$|abort$|file$|message-metadata$|(?:start|finish)-step$|(?:text|reasoning)-(?:start|delta|end)$|(?:source|tool|data)-)/;

function string(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
