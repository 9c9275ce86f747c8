import { ParseError } from '../errors.ts';
import { ChunkDecoder } from './_decode.ts';
import type { ServerSentEvent } from './types.ts';

/**
 * Default for `maxEventSize`: 16 MiB worth of UTF-16 code units (about 16 MB of ASCII). Large
 * enough for any sane event (a 64 KB JSON payload is 0.4% of it), small enough that a runaway or
 * hostile stream cannot exhaust memory.
 */
export const DEFAULT_MAX_EVENT_SIZE: number = 16 * 1024 * 1024;

/** Options of {@link createParser}. */
export interface ParserOptions {
  /** Called for every dispatched event, in stream order. */
  onEvent: (event: ServerSentEvent) => void;
  /** Called with the new reconnection time when a valid `retry:` field arrives. */
  onRetry?: (retryMs: number) => void;
  /** Called for every comment line, with the text after the colon (one leading space removed). */
  onComment?: (comment: string) => void;
  /**
   * Called when a line or an event exceeds `maxEventSize`. The event is skipped up to the next
   * blank line and parsing goes on. Without `onError`, `feed()` throws the error instead, after it
   * has processed the rest of the chunk, so nothing after the oversized event is lost.
   */
  onError?: (error: ParseError) => void;
  /**
   * The longest line, and the largest `data` of one event, in UTF-16 code units; the same
   * wherever the chunks are split. Memory per parser stays under about twice this. `Infinity`
   * disables the limit.
   * @default 16_777_216 (16 Mi code units, {@link DEFAULT_MAX_EVENT_SIZE})
   */
  maxEventSize?: number | undefined;
  /**
   * The last event ID to start from (for example the one a resumed connection sent as
   * `Last-Event-ID`): events without an `id:` field carry it until the stream sets another.
   * @default ""
   */
  lastEventId?: string | undefined;
}

/** A push parser returned by {@link createParser}. */
export interface Parser {
  /** Parses the next chunk: bytes (UTF-8, split anywhere) or already-decoded text. */
  feed(chunk: Uint8Array | string): void;
  /**
   * Ends the stream: an unterminated last line and an event without its closing blank line are
   * discarded, as the spec requires. The parser can then be fed a new stream.
   */
  end(): void;
  /**
   * Forgets everything of the current stream (partial line, pending event, UTF-8 and BOM state),
   * as when a connection is re-established. The last event ID is kept; an `id:` of an unfinished
   * block is forgotten.
   */
  reset(): void;
  /**
   * The stream's last event ID as of the last blank line (spec "last event ID string"): what a
   * reconnecting client sends as `Last-Event-ID`. An `id:` in a block that has not ended yet does
   * not count, so a cut connection never skips the event it cut.
   */
  readonly lastEventId: string;
}

const LF = 10;
const CR = 13;
const SPACE = 32;
const COLON = 58;

/**
 * String methods, called as `charCodeAt.call(text, index)` rather than `text.charCodeAt(index)`.
 * V8 looks a method up by the receiver's map, and strings have many (one- and two-byte,
 * internalized, sliced, concatenated...): once a process has fed its parsers strings of five
 * kinds (a few 1-byte chunks and one string chunk are enough), `text.charCodeAt` in the hot loop
 * goes megamorphic and each call becomes a generic one, two to three times slower. Called through
 * the function itself, from methods compiled once (see ParserState), the target is a constant and
 * the call is inlined whatever the string.
 */
const { charCodeAt, indexOf, slice } = String.prototype;

/**
 * A parser that is never fed and lives as long as the module. V8 gives every ParserState one
 * hidden class (a chain of shapes, one per field) but keeps those shapes only while some object
 * has them: once the last parser of a process has been collected (the end of a client's stream,
 * a benchmark's run), the next parser gets new shapes, and all the code optimised for the old
 * ones is thrown away and compiled again, so that every stream would start on slow code. This
 * one keeps the shapes, and the optimised code, alive.
 */
let _shapeKeeper: ParserState | undefined;

/**
 * Creates a push parser for `text/event-stream` that follows the WHATWG rules exactly.
 *
 * Bytes are decoded as one UTF-8 stream (invalid or truncated sequences become U+FFFD, also
 * across chunk boundaries), a BOM is dropped only at the very start of the stream, and lines end
 * at CR, LF or CRLF, with a CR at the end of a chunk handled at once. Work is linear in the input:
 * a pending partial line is only ever appended to, never rescanned.
 *
 * @example
 * ```ts
 * import { createParser } from 'ssekit';
 *
 * const parser = createParser({ onEvent: (event) => console.log(event.type, event.data) });
 * parser.feed('event: greeting\ndata: hello\n\n'); // logs "greeting hello"
 * parser.end();
 * ```
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
 */
export function createParser(options: ParserOptions): Parser {
  if (typeof options?.onEvent !== 'function') {
    throw new TypeError('createParser: `onEvent` must be a function that receives each event.');
  }
  const maxSize = options.maxEventSize ?? DEFAULT_MAX_EVENT_SIZE;
  if (!(maxSize > 0)) {
    throw new TypeError(
      `createParser: \`maxEventSize\` must be a positive number, got ${maxSize}.`,
    );
  }
  _shapeKeeper ??= new ParserState({ onEvent() {} }, DEFAULT_MAX_EVENT_SIZE);
  const state = new ParserState(options, maxSize);
  return {
    feed: (chunk) => state.feed(chunk),
    end: () => state.clear(),
    reset: () => state.clear(),
    get lastEventId(): string {
      return state.lastEventId;
    },
  };
}

/**
 * The parser's state and hot loop, each step citing the spec rule it implements. Past the usual
 * length because the loop and the per-line steps it inlines belong together.
 *
 * A class rather than closures, for speed that does not depend on what else the process runs:
 * its methods exist once, so V8 compiles them once for every parser and sees the module's
 * constants (the string methods above) as constants; closures made per parser would be compiled
 * without that. Its fields are declared without initial objects or numbers where they will hold
 * other kinds later (callbacks, the limit), so that V8 types them loosely from the first parser
 * on, instead of tightening them and then throwing the optimised code away each time a parser in
 * the process stores something of another kind.
 */
class ParserState {
  readonly #onEvent: (event: ServerSentEvent) => void;
  readonly #onRetry: ((retryMs: number) => void) | undefined;
  readonly #onComment: ((comment: string) => void) | undefined;
  readonly #onError: ((error: ParseError) => void) | undefined;
  readonly #maxSize: number = Number.NaN; // a double from the start: Infinity or not
  readonly #decoder = new ChunkDecoder();
  #atStreamStart = true; // no text yet: a leading U+FEFF is a BOM
  #skipLF = false; // the previous text ended in CR: a leading LF belongs to it
  #pending = ''; // the unterminated tail of the last text
  #pendingSkipped = false; // the tail belongs to a skipped event: dropped, but not blank
  #discarding = false; // an oversized event is being skipped up to its blank line
  #data = ''; // spec "data buffer", without its trailing LF
  #dataLength = 0;
  #hasData = false; // tells an empty data buffer from one that holds "\n"
  #eventType = ''; // spec "event type buffer"
  #firstError: ParseError | undefined = undefined;
  #idBuffer: string; // spec "last event ID buffer": set by id fields
  lastEventId: string; // spec "last event ID string": the buffer as of the last dispatch

  constructor(options: ParserOptions, maxSize: number) {
    this.#onEvent = options.onEvent;
    this.#onRetry = options.onRetry;
    this.#onComment = options.onComment;
    this.#onError = options.onError;
    this.#maxSize = maxSize;
    this.lastEventId = options.lastEventId ?? '';
    this.#idBuffer = this.lastEventId;
  }

  feed(chunk: Uint8Array | string): void {
    if (typeof chunk === 'string') this.#text(chunk);
    else {
      const decoder = this.#decoder;
      const first = decoder.start(chunk);
      if (first.length > 0) this.#text(first);
      while (decoder.position < chunk.length) this.#text(decoder.next(chunk));
    }
    const error = this.#firstError;
    if (error) {
      this.#firstError = undefined;
      throw error;
    }
  }

  #text(text: string): void {
    if (this.#atStreamStart) {
      if (text.length === 0) return;
      this.#atStreamStart = false;
      // The UTF-8 decode algorithm strips one leading BOM, only at the very start of the stream.
      if (charCodeAt.call(text, 0) === 0xfeff) text = slice.call(text, 1);
    }
    this.#parseText(text);
  }

  // Splits text into lines at CR, LF or CRLF. Hot loop: one indexOf per LF, and CR is searched
  // for again only after one was found, so a CR-free text pays for one failed search.
  #parseText(text: string): void {
    const length = text.length;
    let position = 0;
    if (this.#skipLF) {
      if (length === 0) return;
      this.#skipLF = false;
      if (charCodeAt.call(text, 0) === LF) position = 1;
    }
    let nextCR = indexOf.call(text, '\r', position);
    if (this.#pending.length > 0 || this.#pendingSkipped) {
      position = this.#finishPending(text, position, nextCR);
      if (position === -1) return;
      if (nextCR !== -1 && nextCR < position) nextCR = indexOf.call(text, '\r', position);
    }
    // for (;;) rather than while (position < length): with that bound V8 (Node 20) compiles the
    // indexOf calls below into something linear in the chunk, making large chunks quadratic.
    for (;;) {
      let lineEnd = indexOf.call(text, '\n', position);
      let lineNext: number;
      if (nextCR !== -1 && (lineEnd === -1 || nextCR < lineEnd)) {
        lineEnd = nextCR;
        if (nextCR + 1 < length) {
          lineNext = charCodeAt.call(text, nextCR + 1) === LF ? nextCR + 2 : nextCR + 1;
        } else {
          lineNext = length;
          this.#skipLF = true; // dispatch now; an LF opening the next text ends nothing
        }
        nextCR = indexOf.call(text, '\r', lineNext);
      } else if (lineEnd !== -1) {
        lineNext = lineEnd + 1;
      } else {
        if (position < length) this.#appendPending(text, position);
        return;
      }
      if (position === lineEnd) {
        this.#dispatch();
      } else if (
        charCodeAt.call(text, position) === 100 && // d
        charCodeAt.call(text, position + 1) === 97 && // a
        charCodeAt.call(text, position + 2) === 116 && // t
        charCodeAt.call(text, position + 3) === 97 && // a
        charCodeAt.call(text, position + 4) === COLON &&
        !this.#discarding &&
        lineEnd - position <= this.#maxSize
      ) {
        // The field nearly every line has. Spec: the value follows one optional space.
        const from = charCodeAt.call(text, position + 5) === SPACE ? position + 6 : position + 5;
        const value = from < lineEnd ? slice.call(text, from, lineEnd) : '';
        if (!this.#hasData && lineNext < length && charCodeAt.call(text, lineNext) === LF) {
          // A one-line event and its blank line ("data: x\n\n"), the shape of token streams:
          // dispatch it at once, as the blank line would.
          lineNext++;
          this.lastEventId = this.#idBuffer;
          this.#emit(value);
        } else {
          this.#appendData(value);
        }
      } else {
        this.#processLine(text, position, lineEnd);
      }
      // A blank line right behind (the end of most events): dispatch it without a search.
      if (lineNext < length) {
        const next = charCodeAt.call(text, lineNext);
        if (next === LF) {
          this.#dispatch();
          lineNext++;
        } else if (next === CR) {
          this.#dispatch();
          if (lineNext + 1 < length) {
            lineNext = charCodeAt.call(text, lineNext + 1) === LF ? lineNext + 2 : lineNext + 1;
          } else {
            lineNext = length;
            this.#skipLF = true;
          }
          nextCR = indexOf.call(text, '\r', lineNext);
        }
      }
      position = lineNext;
    }
  }

  // The first line end of `text` completes the pending line. Returns where the next line
  // starts, or -1 when the text has no line end (it was all appended to the pending line).
  #finishPending(text: string, position: number, nextCR: number): number {
    const length = text.length;
    const nextLF = indexOf.call(text, '\n', position);
    let lineEnd: number;
    let lineNext: number;
    if (nextCR !== -1 && (nextLF === -1 || nextCR < nextLF)) {
      lineEnd = nextCR;
      if (nextCR + 1 < length) {
        lineNext = charCodeAt.call(text, nextCR + 1) === LF ? nextCR + 2 : nextCR + 1;
      } else {
        lineNext = length;
        this.#skipLF = true;
      }
    } else if (nextLF !== -1) {
      lineEnd = nextLF;
      lineNext = nextLF + 1;
    } else {
      if (position < length) this.#appendPending(text, position);
      return -1;
    }
    if (this.#pendingSkipped) {
      this.#pendingSkipped = false; // the end of a line of a skipped event
      return lineNext;
    }
    const pending = this.#pending;
    this.#pending = '';
    const rest = slice.call(text, position, lineEnd);
    // A data line cut by the chunk boundary (once per chunk in token streams): its value is the
    // two parts joined, without building the whole line and searching it for a field name.
    if (
      pending.length > 5 &&
      charCodeAt.call(pending, 0) === 100 && // d
      charCodeAt.call(pending, 1) === 97 && // a
      charCodeAt.call(pending, 2) === 116 && // t
      charCodeAt.call(pending, 3) === 97 && // a
      charCodeAt.call(pending, 4) === COLON &&
      !this.#discarding &&
      pending.length + rest.length <= this.#maxSize
    ) {
      const from = charCodeAt.call(pending, 5) === SPACE ? 6 : 5;
      this.#appendData(from < pending.length ? slice.call(pending, from) + rest : rest);
      return lineNext;
    }
    const line = pending + rest;
    this.#processLine(line, 0, line.length);
    return lineNext;
  }

  #appendPending(text: string, position: number): void {
    if (this.#discarding) {
      // A line of a skipped event: keep nothing of it, only that it is not blank.
      this.#pending = '';
      this.#pendingSkipped = true;
      return;
    }
    const rest = position === 0 ? text : slice.call(text, position);
    const pending = this.#pending;
    if (pending.length + rest.length > this.#maxSize) {
      this.#pending = '';
      this.#fail('A line exceeds');
      this.#pendingSkipped = true;
      return;
    }
    this.#pending = pending.length > 0 ? pending + rest : rest;
  }

  // Spec "interpreting an event stream": one complete line, text[start, end), without its end.
  #processLine(text: string, start: number, end: number): void {
    if (start === end) {
      this.#dispatch();
      return;
    }
    if (this.#discarding) return;
    if (end - start > this.#maxSize) {
      this.#fail('A line exceeds');
      return;
    }
    // Typed streams name every event.
    if (
      charCodeAt.call(text, start) === 101 && // e
      charCodeAt.call(text, start + 1) === 118 && // v
      charCodeAt.call(text, start + 2) === 101 && // e
      charCodeAt.call(text, start + 3) === 110 && // n
      charCodeAt.call(text, start + 4) === 116 && // t
      charCodeAt.call(text, start + 5) === COLON
    ) {
      const from =
        start + 6 < end && charCodeAt.call(text, start + 6) === SPACE ? start + 7 : start + 6;
      this.#eventType = from < end ? slice.call(text, from, end) : '';
      return;
    }
    // Resumable streams put an id on every event.
    if (
      charCodeAt.call(text, start) === 105 && // i
      charCodeAt.call(text, start + 1) === 100 && // d
      charCodeAt.call(text, start + 2) === COLON
    ) {
      const from =
        start + 3 < end && charCodeAt.call(text, start + 3) === SPACE ? start + 4 : start + 3;
      this.#setId(slice.call(text, from, end));
      return;
    }
    if (charCodeAt.call(text, start) === COLON) {
      if (this.#onComment) {
        const from =
          start + 1 < end && charCodeAt.call(text, start + 1) === SPACE ? start + 2 : start + 1;
        this.#onComment(slice.call(text, from, end));
      }
      return;
    }
    // A field name runs to the first colon, or to the end of a line that has none.
    let colon = start + 1;
    while (colon < end && charCodeAt.call(text, colon) !== COLON) colon++;
    let valueStart = colon + 1;
    if (valueStart < end && charCodeAt.call(text, valueStart) === SPACE) valueStart++;
    const value = valueStart < end ? slice.call(text, valueStart, end) : '';
    this.#processField(slice.call(text, start, colon), value);
  }

  // Spec "process the field".
  #processField(field: string, value: string): void {
    switch (field) {
      case 'event':
        this.#eventType = value;
        break;
      case 'data':
        this.#appendData(value);
        break;
      case 'id':
        this.#setId(value);
        break;
      case 'retry':
        if (this.#onRetry && isAsciiDigits(value)) this.#onRetry(Number.parseInt(value, 10));
        break;
      default:
        break; // unknown fields are ignored
    }
  }

  // An id containing U+0000 NULL is ignored.
  #setId(value: string): void {
    if (indexOf.call(value, '\0') === -1) this.#idBuffer = value;
  }

  // Spec: append the value and an LF to the data buffer; the buffer is kept without its last LF,
  // which dispatch would remove.
  #appendData(value: string): void {
    if (!this.#hasData) {
      this.#data = value;
      this.#dataLength = value.length;
      this.#hasData = true;
    } else if (this.#dataLength + value.length + 1 > this.#maxSize) {
      this.#fail("An event's data exceeds");
    } else {
      this.#data = `${this.#data}\n${value}`;
      this.#dataLength += value.length + 1;
    }
  }

  // Spec "dispatch the event". Step 1 runs for every blank line, even without data, so an id-only
  // block moves the last event ID; an id in a block that never ends (cut connection) does not,
  // and a client resuming from it cannot skip the event that was cut.
  #dispatch(): void {
    this.lastEventId = this.#idBuffer;
    if (this.#discarding) {
      this.#discarding = false;
      return;
    }
    if (!this.#hasData) {
      this.#eventType = '';
      return;
    }
    const data = this.#data;
    this.#data = '';
    this.#hasData = false;
    this.#emit(data);
  }

  #emit(data: string): void {
    const event: ServerSentEvent = {
      type: this.#eventType || 'message',
      data,
      id: this.lastEventId,
    };
    this.#eventType = '';
    const onEvent = this.#onEvent;
    onEvent(event);
  }

  #fail(what: string): void {
    const error = new ParseError(
      `${what} maxEventSize (${this.#maxSize} UTF-16 code units); the event is skipped.`,
      this.#maxSize,
    );
    this.#data = '';
    this.#hasData = false;
    this.#eventType = '';
    this.#discarding = true;
    if (this.#onError) this.#onError(error);
    else this.#firstError ??= error;
  }

  // What end() and reset() do: a truncated UTF-8 sequence or an unterminated line can only belong
  // to the incomplete last event, which the spec discards.
  clear(): void {
    this.#decoder.reset();
    this.#atStreamStart = true;
    this.#skipLF = false;
    this.#pending = '';
    this.#pendingSkipped = false;
    this.#discarding = false;
    this.#data = '';
    this.#hasData = false;
    this.#eventType = '';
    this.#idBuffer = this.lastEventId;
    this.#firstError = undefined;
  }
}

function isAsciiDigits(value: string): boolean {
  if (value.length === 0) return false;
  for (let index = 0; index < value.length; index++) {
    const code = charCodeAt.call(value, index);
    if (code < 48 || code > 57) return false;
  }
  return true;
}
