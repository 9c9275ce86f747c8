import { ParseError } from '../errors.ts';
import { incompleteTail } from './_utf8.ts';
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
 * Creates a push parser for `text/event-stream` that follows the WHATWG rules exactly.
 *
 * Bytes are decoded with one streaming UTF-8 decoder (invalid or truncated sequences become
 * U+FFFD, also across chunk boundaries), a BOM is dropped only at the very start of the stream,
 * and lines end at CR, LF or CRLF, with a CR at the end of a chunk handled at once. Work is linear
 * in the input: a pending partial line is only ever appended to, never rescanned.
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
 * The parser's state and hot loop. A class rather than closures: every parser shares the same
 * optimised methods, so call sites stay monomorphic however many parsers a process creates. It
 * keeps this file past the usual length: the loop and the per-line steps it inlines belong
 * together, and each step cites the spec rule it implements.
 */
class ParserState {
  readonly #onEvent: (event: ServerSentEvent) => void;
  readonly #onRetry: ((retryMs: number) => void) | undefined;
  readonly #onComment: ((comment: string) => void) | undefined;
  readonly #onError: ((error: ParseError) => void) | undefined;
  readonly #maxSize: number;
  #decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  #streaming = false; // #decoder holds part of a UTF-8 sequence from the previous chunk
  #ascii = true; // the last chunk was ASCII: try the one-shot decode first
  #atStreamStart = true; // no text decoded yet: a leading U+FEFF is a BOM
  #skipLF = false; // the previous chunk ended in CR: a leading LF belongs to it
  #pending = ''; // the unterminated tail of the last chunk
  #pendingSkipped = false; // the tail belongs to a skipped event: dropped, but not blank
  #discarding = false; // an oversized event is being skipped up to its blank line
  #data = '';
  #hasData = false;
  #eventType = '';
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
    let text = typeof chunk === 'string' ? chunk : this.#decode(chunk);
    if (this.#atStreamStart && text.length > 0) {
      this.#atStreamStart = false;
      // The UTF-8 decode algorithm strips one leading BOM, only at the very start of the stream.
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    this.#parseText(text);
    const error = this.#firstError;
    if (error) {
      this.#firstError = undefined;
      throw error;
    }
  }

  // Streaming decode is several times slower than a one-shot decode in some engines (Node's
  // one-shot path is SIMD). A chunk that starts and ends on a character boundary decodes the same
  // either way, so only chunks that carry part of a sequence in or out take the streaming path.
  #decode(chunk: Uint8Array): string {
    const length = chunk.length;
    if (length === 0) return '';
    const decoder = this.#decoder;
    const last = chunk[length - 1]!;
    if (this.#streaming) {
      // After an ASCII byte the decoder holds nothing, whatever came before.
      if (last < 0x80) this.#streaming = false;
      return decoder.decode(chunk, { stream: true });
    }
    // The one-shot path wins only on ASCII (Node's is SIMD there, and slower than the streaming
    // one on mixed text): stay on it while chunks decode to as many characters as bytes.
    if (this.#ascii && (last < 0x80 || incompleteTail(chunk) === 0)) {
      const text = decoder.decode(chunk);
      this.#ascii = text.length === length;
      return text;
    }
    const text = decoder.decode(chunk, { stream: true });
    this.#ascii = text.length === length;
    // Short chunks may be all continuation bytes of a sequence begun earlier: stay streaming.
    this.#streaming = last >= 0x80 && (length < 4 || incompleteTail(chunk) > 0);
    return text;
  }

  // Also what end() does: a truncated UTF-8 sequence or an unterminated line can only belong to
  // the incomplete last event, which the spec discards.
  clear(): void {
    this.#decoder = new TextDecoder('utf-8', { ignoreBOM: true });
    this.#streaming = false;
    this.#ascii = true;
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

  // Split text into lines at CR, LF or CRLF. Hot loop: one indexOf per LF, and CR is searched
  // for again only after one was found, so a CR-free stream pays for one failed search per chunk.
  #parseText(text: string): void {
    const length = text.length;
    let position = 0;
    if (this.#skipLF && length > 0) {
      this.#skipLF = false;
      if (text.charCodeAt(0) === LF) position = 1;
    }
    let nextCR = text.indexOf('\r', position);
    // for (;;) rather than while (position < length): with that bound V8 (Node 20) compiles the
    // indexOf calls below into something linear in the chunk, making large chunks quadratic.
    for (;;) {
      const nextLF = text.indexOf('\n', position);
      let lineEnd: number;
      let lineNext: number;
      if (nextCR !== -1 && (nextLF === -1 || nextCR < nextLF)) {
        lineEnd = nextCR;
        if (nextCR + 1 < length) {
          lineNext = text.charCodeAt(nextCR + 1) === LF ? nextCR + 2 : nextCR + 1;
        } else {
          lineNext = length;
          this.#skipLF = true; // dispatch now; an LF opening the next chunk ends nothing
        }
        nextCR = text.indexOf('\r', lineNext);
      } else if (nextLF !== -1) {
        lineEnd = nextLF;
        lineNext = nextLF + 1;
      } else {
        if (position < length) this.#appendPending(text, position);
        return;
      }
      if (this.#pendingSkipped) {
        this.#pendingSkipped = false; // the end of a line of a skipped event
      } else if (this.#pending.length > 0) {
        const line = this.#pending + text.slice(position, lineEnd);
        this.#pending = '';
        this.#processLine(line, 0, line.length);
      } else {
        this.#processLine(text, position, lineEnd);
        // Shortcut for the blank line that ends most events: "\n\n" needs no search.
        if (lineNext < length && lineNext === lineEnd + 1 && text.charCodeAt(lineNext) === LF) {
          this.#dispatch();
          lineNext++;
        }
      }
      position = lineNext;
    }
  }

  #appendPending(text: string, position: number): void {
    if (this.#discarding) {
      // A line of a skipped event: keep nothing of it, only that it is not blank.
      this.#pending = '';
      this.#pendingSkipped = true;
      return;
    }
    const rest = position === 0 ? text : text.slice(position);
    if (this.#pending.length + rest.length > this.#maxSize) {
      this.#pending = '';
      this.#fail('A line exceeds');
      this.#pendingSkipped = true;
      return;
    }
    this.#pending = this.#pending.length > 0 ? this.#pending + rest : rest;
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
    // Fast path for the field nearly every line has.
    if (
      text.charCodeAt(start) === 100 && // d
      text.charCodeAt(start + 1) === 97 && // a
      text.charCodeAt(start + 2) === 116 && // t
      text.charCodeAt(start + 3) === 97 && // a
      text.charCodeAt(start + 4) === COLON
    ) {
      const from = start + 5 < end && text.charCodeAt(start + 5) === SPACE ? start + 6 : start + 5;
      this.#appendData(text.slice(from, end));
      return;
    }
    // Resumable streams put an id on every event.
    if (
      text.charCodeAt(start) === 105 &&
      text.charCodeAt(start + 1) === 100 &&
      text.charCodeAt(start + 2) === COLON
    ) {
      const from = start + 3 < end && text.charCodeAt(start + 3) === SPACE ? start + 4 : start + 3;
      const value = text.slice(from, end);
      if (!value.includes('\0')) this.#idBuffer = value;
      return;
    }
    if (text.charCodeAt(start) === COLON) {
      if (this.#onComment) {
        const from =
          start + 1 < end && text.charCodeAt(start + 1) === SPACE ? start + 2 : start + 1;
        this.#onComment(text.slice(from, end));
      }
      return;
    }
    // A field name runs to the first colon, or to the end of a line that has none.
    let colon = start + 1;
    while (colon < end && text.charCodeAt(colon) !== COLON) colon++;
    let valueStart = colon + 1;
    if (valueStart < end && text.charCodeAt(valueStart) === SPACE) valueStart++;
    const value = valueStart < end ? text.slice(valueStart, end) : '';
    this.#processField(text.slice(start, colon), value);
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
        if (!value.includes('\0')) this.#idBuffer = value;
        break;
      case 'retry':
        if (this.#onRetry && isAsciiDigits(value)) this.#onRetry(Number.parseInt(value, 10));
        break;
      default:
        break; // unknown fields are ignored
    }
  }

  // The data buffer, stored without its trailing LF (spec: append value and LF, then remove the
  // last LF at dispatch), with hasData telling an empty buffer from one that holds "\n".
  #appendData(value: string): void {
    if (!this.#hasData) {
      this.#data = value;
      this.#hasData = true;
    } else if (this.#data.length + value.length + 1 > this.#maxSize) {
      this.#fail("An event's data exceeds");
    } else {
      this.#data = `${this.#data}\n${value}`;
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
    const event: ServerSentEvent = {
      type: this.#eventType || 'message',
      data: this.#data,
      id: this.lastEventId,
    };
    this.#data = '';
    this.#hasData = false;
    this.#eventType = '';
    this.#onEvent(event);
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
}

function isAsciiDigits(value: string): boolean {
  if (value.length === 0) return false;
  for (let index = 0; index < value.length; index++) {
    const code = value.charCodeAt(index);
    if (code < 48 || code > 57) return false;
  }
  return true;
}
