import { textDelta } from '../_internal/text-delta.ts';
import type { ServerSentEvent } from '../protocol/types.ts';

/**
 * The text delta of one event, as `useEventStream` accumulates it into `text` by default (the CLI's
 * `--text` is the same). Text sent as text arrives as sent; only a JSON object of a known shape is
 * unwrapped:
 *
 * - a JSON object's text: `{"text"}` or `{"delta"}` (a string), OpenAI Chat
 *   (`choices[0].delta.content`), OpenAI Responses (`response.output_text.delta`), Anthropic
 *   (`content_block_delta` / `text_delta`), Gemini (`candidates[0].content.parts[].text`), the AI
 *   SDK UI message stream (`text-delta`); the other events of those formats add `''`;
 * - any other data of a `message` or `token` event, as sent (`He said "yes" and`, `"yes" `,
 *   `{} `);
 * - any other event: no text.
 *
 * @example
 * ```ts
 * import { defaultToText } from 'ssekit/react';
 *
 * defaultToText({ type: 'token', data: '{"text":"Hel"}', id: '' }); // 'Hel'
 * defaultToText({ type: 'token', data: 'He said "yes" and', id: '' }); // 'He said "yes" and'
 * defaultToText({ type: 'progress', data: '{"phase":"a"}', id: '' }); // undefined
 * ```
 */
export function defaultToText(event: ServerSentEvent): string | undefined {
  return textDelta(event);
}
