import type { EventInput } from './types.ts';

const LINE_BREAK = /\r\n|\r|\n/;

/**
 * Encodes one event as `text/event-stream` text, ending with the blank line that dispatches it.
 *
 * Fields come in the order comment, `event`, `id`, `retry`, `data`. Line breaks (CR, LF or CRLF)
 * in `data` and `comment` become several lines, so that decoding gives back the original string
 * with every line break as LF (the spec joins `data:` lines with LF). A line break in `event` or
 * `id`, or a NUL in `id`, cannot be encoded and throws a `TypeError` (nothing is stripped
 * silently).
 *
 * @example
 * ```ts
 * import { encodeEvent } from 'ssekit';
 *
 * encodeEvent({ event: 'token', id: '7', data: 'line one\nline two' });
 * // 'event: token\nid: 7\ndata: line one\ndata: line two\n\n'
 * ```
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream
 */
export function encodeEvent(input: EventInput): string {
  const { data, event, id, retry, comment } = input;
  let out = '';
  if (comment !== undefined) out += encodeLines(':', String(comment));
  if (event !== undefined) {
    if (hasLineBreak(event)) {
      throw new TypeError(
        `encodeEvent: \`event\` must not contain CR or LF (got ${JSON.stringify(event)}); a line break would end the field and corrupt the stream.`,
      );
    }
    out += event === '' ? 'event\n' : `event: ${event}\n`;
  }
  if (id !== undefined) {
    if (hasLineBreak(id) || id.includes('\0')) {
      throw new TypeError(
        `encodeEvent: \`id\` must not contain CR, LF or NUL (got ${JSON.stringify(id)}); clients ignore an id with NUL and a line break would corrupt the stream.`,
      );
    }
    out += id === '' ? 'id\n' : `id: ${id}\n`;
  }
  if (retry !== undefined) {
    if (!Number.isSafeInteger(retry) || retry < 0) {
      throw new TypeError(
        `encodeEvent: \`retry\` must be a non-negative integer of milliseconds, got ${retry}.`,
      );
    }
    out += `retry: ${retry}\n`;
  }
  if (data !== undefined) {
    if (typeof data !== 'string') {
      throw new TypeError(
        `encodeEvent: \`data\` must be a string, got ${typeof data}; serialise it first (JSON.stringify).`,
      );
    }
    out += encodeLines('data:', data);
  }
  return `${out}\n`;
}

/** Encodes a comment line (or several, for text with line breaks), e.g. a heartbeat. */
export function encodeComment(text = ''): string {
  return encodeLines(':', text);
}

function hasLineBreak(value: string): boolean {
  return value.includes('\n') || value.includes('\r');
}

function encodeLines(prefix: string, value: string): string {
  if (!hasLineBreak(value)) return value === '' ? `${prefix}\n` : `${prefix} ${value}\n`;
  let out = '';
  for (const line of value.split(LINE_BREAK)) {
    out += line === '' ? `${prefix}\n` : `${prefix} ${line}\n`;
  }
  return out;
}
