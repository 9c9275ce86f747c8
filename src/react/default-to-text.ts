import type { ServerSentEvent } from '../protocol/types.ts';

/**
 * The text delta of one event, as `useEventStream` accumulates it into `text` by default:
 *
 * - JSON data: a string as is; an object's `text` or `delta` (a string), or OpenAI's
 *   `choices[0].delta.content`; anything else adds no text (`progress`, metadata, ...);
 * - plain (non-JSON) data of a `message` or `token` event: the data itself;
 * - any other event: no text.
 *
 * @example
 * ```ts
 * defaultToText({ type: 'token', data: '{"text":"Hel"}', id: '' }); // 'Hel'
 * defaultToText({ type: 'message', data: 'lo', id: '' }); // 'lo'
 * defaultToText({ type: 'progress', data: '{"phase":"a"}', id: '' }); // undefined
 * ```
 */
export function defaultToText(event: ServerSentEvent): string | undefined {
  const { data } = event;
  const first = data.charCodeAt(0);
  // Only `{` and `"` can start JSON worth reading; checking first keeps plain tokens cheap.
  if (first === 0x7b || first === 0x22) {
    let value: unknown;
    try {
      value = JSON.parse(data);
    } catch {
      return plainText(event);
    }
    if (typeof value === 'string') return value;
    return typeof value === 'object' && value !== null ? textOf(value) : undefined;
  }
  return plainText(event);
}

function plainText(event: ServerSentEvent): string | undefined {
  return event.type === 'message' || event.type === 'token' ? event.data : undefined;
}

function textOf(value: object): string | undefined {
  const fields = value as { text?: unknown; delta?: unknown; choices?: unknown };
  if (typeof fields.text === 'string') return fields.text;
  if (typeof fields.delta === 'string') return fields.delta;
  if (Array.isArray(fields.choices)) {
    const content = (fields.choices[0] as { delta?: { content?: unknown } } | undefined)?.delta
      ?.content;
    if (typeof content === 'string') return content;
  }
  return undefined;
}
