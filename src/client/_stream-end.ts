/**
 * Whether a body ended inside an event: a complete stream ends at a blank line (or after comment
 * lines); one that stops in the middle of a line or of an event's fields was cut, even when the
 * connection closed cleanly (a proxy or a platform ending the response at its time limit).
 * @internal
 */

const LF = 10;
const CR = 13;
const COLON = 58;

/**
 * Looks at the end of the body: `last` is its last non-empty chunk, `previous` the one before
 * (lines can span chunks), `whole` true when those two are the entire body.
 */
export function endsInsideEvent(
  previous: Uint8Array | undefined,
  last: Uint8Array | undefined,
  whole: boolean,
): boolean {
  if (last === undefined) return false; // an empty body
  const head = previous ?? new Uint8Array(0);
  const size = head.length + last.length;
  const at = (index: number): number =>
    index < head.length ? head[index]! : last[index - head.length]!;
  let end = size - 1; // the last byte of the line terminator being looked at
  if (at(end) !== LF && at(end) !== CR) return true; // an unterminated line
  for (;;) {
    // A CRLF pair is one terminator.
    const terminator = at(end) === LF && end > 0 && at(end - 1) === CR ? end - 1 : end;
    let start = terminator;
    while (start > 0 && at(start - 1) !== LF && at(start - 1) !== CR) start--;
    const first = start === 0;
    if (first && !whole) return false; // the line began before what is kept: assume the best
    if (first && at(0) === 0xef && at(1) === 0xbb && at(2) === 0xbf) start = 3; // a BOM
    if (start >= terminator) return false; // a blank line: the last event was dispatched
    if (at(start) !== COLON) return true; // a field of an event that never got its blank line
    if (first) return false; // the body is comments only
    end = start - 1; // a comment: look at the line before it
  }
}
