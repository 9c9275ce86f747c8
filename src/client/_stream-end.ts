/**
 * Whether a body ended inside an event: a complete stream ends at a blank line (or after comment
 * lines); one that stops in the middle of a line or of an event's fields was cut, even when the
 * connection closed cleanly (a proxy or a platform ending the response at its time limit).
 * @internal
 */

/**
 * Looks at the end of the body: `last` is its last non-empty chunk, `previous` the one before
 * (lines can span chunks), `whole` true when those two are the entire body. When they are not, a
 * line that began before them is assumed to be complete.
 */
export function endsInsideEvent(
  previous: Uint8Array | undefined,
  last: Uint8Array | undefined,
  whole: boolean,
): boolean {
  if (!last) return false; // an empty body
  let tail = last;
  if (previous) {
    tail = new Uint8Array(previous.length + last.length);
    tail.set(previous);
    tail.set(last, previous.length);
  }
  // CR, LF and CRLF end lines alike; a blank line, then only comment lines, is a clean end.
  const text = new TextDecoder().decode(tail).replace(/\r\n?/g, '\n');
  return !(whole ? WHOLE : PART).test(text);
}

const WHOLE = /(?:^\uFEFF?|\n)\n(?::[^\n]*\n)*$|^\uFEFF?(?::[^\n]*\n)+$/;
const PART = /(?:^|\n)\n(?::[^\n]*\n)*$|^[^\n]*\n(?::[^\n]*\n)*$/;
