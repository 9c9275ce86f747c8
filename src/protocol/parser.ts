import { ParseError } from '../errors.ts';
import { ChunkDecoder, pieceEnd } from './_decode.ts';
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
 * The parser's state and hot loop, each step citing the spec rule it implements.
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
  #started = false; // text has arrived: a U+FEFF is no longer a BOM
  #skipLF = false; // the previous text ended in CR: a leading LF belongs to it
  #pending: string | undefined = ''; // the unterminated tail of the last text; undefined: a
  // line of a skipped event, dropped (but not blank)
  #discarding = false; // an oversized event is being skipped up to its blank line
  #data: string | undefined = undefined; // spec "data buffer" without its last LF; undefined: empty
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
    this.lastEventId = this.#idBuffer = options.lastEventId ?? '';
  }

  feed(chunk: Uint8Array | string): void {
    if (typeof chunk === 'string') this.#parse(chunk);
    else {
      for (let start = 0, end: number; start < chunk.length; start = end) {
        end = pieceEnd(chunk, start);
        this.#parse(this.#decoder.decode(chunk, start, end));
      }
    }
    const error = this.#firstError;
    if (error) {
      this.#firstError = undefined;
      throw error;
    }
  }

  // Splits text into lines at CR, LF or CRLF. Hot loop: one indexOf per LF, and CR is searched
  // for again only after one was found, so a CR-free text pays for one failed search. A pending
  // partial line is only ever appended to, never rescanned: work is linear in the input.
  #parse(text: string): void {
    const length = text.length;
    if (length === 0) return;
    let position = 0;
    // The UTF-8 decode algorithm strips one leading BOM, only at the very start of the stream.
    if (!this.#started) {
      this.#started = true;
      if (charCodeAt.call(text, 0) === 0xfeff) position = 1;
    } else if (this.#skipLF) {
      this.#skipLF = false;
      if (charCodeAt.call(text, 0) === LF) position = 1;
    }
    let nextCR = indexOf.call(text, '\r', position);
    // for (;;) rather than while (position < length): with that bound V8 (Node 20) compiles the
    // indexOf calls below into something linear in the chunk, making large chunks quadratic.
    for (;;) {
      let lineEnd = indexOf.call(text, '\n', position);
      let lineNext = lineEnd + 1;
      if (nextCR !== -1 && (lineEnd === -1 || nextCR < lineEnd)) {
        lineEnd = nextCR;
        lineNext = nextCR + 1;
        // A CR ending the text dispatches now; an LF opening the next text ends nothing.
        if (lineNext === length) this.#skipLF = true;
        else if (charCodeAt.call(text, lineNext) === LF) lineNext++;
        nextCR = indexOf.call(text, '\r', lineNext);
      } else if (lineEnd === -1) {
        if (position < length) this.#appendPending(text, position);
        return;
      }
      const pending = this.#pending;
      if (pending !== '') {
        // The first line of the text completes the pending one (or the skipped one ends).
        this.#pending = '';
        if (pending !== undefined) {
          const line = pending + slice.call(text, position, lineEnd);
          this.#processLine(line, 0, line.length);
        }
      } else if (position === lineEnd) {
        this.#dispatch();
      } else {
        this.#processLine(text, position, lineEnd);
        // A blank line right behind (the end of most events): dispatched without a search.
        if (lineNext < length && charCodeAt.call(text, lineNext) === LF) {
          this.#dispatch();
          lineNext++;
        }
      }
      position = lineNext;
    }
  }

  #appendPending(text: string, position: number): void {
    const pending = this.#pending;
    if (pending === undefined || this.#discarding) {
      this.#pending = undefined; // a line of a skipped event: keep nothing of it
    } else if (pending.length + text.length - position > this.#maxSize) {
      this.#pending = undefined;
      this.#fail('A line exceeds');
    } else {
      this.#pending = pending + slice.call(text, position);
    }
  }

  // Spec "interpreting an event stream": one complete line that is not blank, text[start, end).
  #processLine(text: string, start: number, end: number): void {
    if (this.#discarding) return;
    if (end - start > this.#maxSize) {
      this.#fail('A line exceeds');
      return;
    }
    // "data", the field nearly every line has, is told without a search for the colon and
    // without building its name.
    if (
      charCodeAt.call(text, start) === 100 && // d
      charCodeAt.call(text, start + 1) === 97 && // a
      charCodeAt.call(text, start + 2) === 116 && // t
      charCodeAt.call(text, start + 3) === 97 && // a
      (start + 4 === end || charCodeAt.call(text, start + 4) === COLON)
    ) {
      // Spec: append the value (after one optional space) and an LF to the data buffer (kept
      // here without its last LF, which dispatch would remove).
      const from = charCodeAt.call(text, start + 5) === SPACE ? start + 6 : start + 5;
      const value = from < end ? slice.call(text, from, end) : '';
      const data = this.#data;
      if (data === undefined) this.#data = value;
      else if (data.length + value.length + 1 > this.#maxSize)
        this.#fail("An event's data exceeds");
      else this.#data = `${data}\n${value}`;
    } else this.#processField(text, start, end);
  }

  // Spec "process the field", for a line that is not a data field. The field name runs to the
  // first colon, or to the end of a line that has none; the value follows the colon and one
  // optional space. Unknown fields are ignored.
  #processField(text: string, start: number, end: number): void {
    let colon = start;
    while (colon < end && charCodeAt.call(text, colon) !== COLON) colon++;
    const from = charCodeAt.call(text, colon + 1) === SPACE ? colon + 2 : colon + 1;
    const value = from < end ? slice.call(text, from, end) : '';
    if (colon === start) {
      if (this.#onComment) this.#onComment(value);
    } else if (
      // "id", on most events of a resumable stream, is told from its codes like "data".
      colon === start + 2 &&
      charCodeAt.call(text, start) === 105 && // i
      charCodeAt.call(text, start + 1) === 100 // d
    ) {
      // An id containing U+0000 NULL is ignored.
      if (indexOf.call(value, '\0') === -1) this.#idBuffer = value;
    } else {
      const field = slice.call(text, start, colon);
      if (field === 'event') this.#eventType = value;
      else if (field === 'retry' && this.#onRetry && /^[0-9]+$/.test(value))
        this.#onRetry(Number.parseInt(value, 10));
    }
  }

  // Spec "dispatch the event". Step 1 runs for every blank line, even without data, so an id-only
  // block moves the last event ID; an id in a block that never ends (cut connection) does not,
  // and a client resuming from it cannot skip the event that was cut.
  #dispatch(): void {
    this.lastEventId = this.#idBuffer;
    const data = this.#data;
    const type = this.#eventType;
    this.#data = undefined;
    this.#eventType = '';
    if (this.#discarding) this.#discarding = false;
    else if (data !== undefined) {
      const onEvent = this.#onEvent;
      onEvent({ type: type || 'message', data, id: this.lastEventId });
    }
  }

  #fail(what: string): void {
    const error = new ParseError(
      `${what} maxEventSize (${this.#maxSize} UTF-16 code units); the event is skipped.`,
      this.#maxSize,
    );
    this.#data = undefined;
    this.#eventType = '';
    this.#discarding = true;
    if (this.#onError) this.#onError(error);
    else this.#firstError ??= error;
  }

  // What end() and reset() do: a character left open or an unterminated line can only belong to
  // the incomplete last event, which the spec discards.
  clear(): void {
    this.#decoder.reset();
    this.#started = false;
    this.#skipLF = false;
    this.#pending = '';
    this.#discarding = false;
    this.#data = undefined;
    this.#eventType = '';
    this.#idBuffer = this.lastEventId;
    this.#firstError = undefined;
  }
}
