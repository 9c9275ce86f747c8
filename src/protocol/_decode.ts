import { incompleteTail, lowerBound, sequenceLength, upperBound } from './_utf8.ts';

/**
 * The most bytes decoded in one call. A decoded string past about 128 KB lands in V8's large
 * object space, whose allocation costs ten to twenty times as much per byte (two-byte strings get
 * there from 64 Ki characters): a stream in 96 KiB chunks decodes ten times slower than in 32 KiB
 * ones. Pieces of 32 KiB stay clear of it for any text.
 */
export const PIECE: number = 32 * 1024;
const STREAM: TextDecodeOptions = { stream: true };

/**
 * A streaming UTF-8 decoder (WHATWG: invalid and truncated sequences become U+FFFD, also across
 * chunks; a BOM is left to the caller) built for speed on every engine. For each chunk, call
 * {@link ChunkDecoder.start}, then {@link ChunkDecoder.next} while `position` is short of the
 * chunk's length: each call returns the text of one piece.
 *
 * Each chunk is decoded once, in pieces of at most {@link PIECE} bytes cut between characters.
 * Two `TextDecoder`s, because engines decode differently: Node's one-shot `decode(bytes)` is SIMD
 * on ASCII (five times its streaming path), while on mixed text its streaming path (ICU) is the
 * faster one. So a piece is decoded one-shot while the stream is ASCII, and by the streaming
 * decoder from a piece that was not until a piece is ASCII again: a choice made per stream from
 * its own text, never from the state of the process. Both give the same text, which the tests
 * check on random bytes. The one-shot decoder is never called with `{ stream: true }` (Node
 * drops its fast path for good after such a call), so a character cut by the end of a chunk on
 * the one-shot path is carried over and completed here, by the decoder's own rules.
 *
 * A class, like the parser's state, so that its methods are compiled once for every parser.
 *
 * @see https://encoding.spec.whatwg.org/#utf-8-decoder
 */
export class ChunkDecoder {
  /** Where the next piece of the current chunk starts. */
  position = 0;
  readonly #oneShot = new TextDecoder('utf-8', { ignoreBOM: true });
  #streaming = new TextDecoder('utf-8', { ignoreBOM: true });
  #mixed = false; // the last piece was not ASCII: decode with #streaming
  #streamed = false; // #streaming has been used since the last reset
  readonly #carry = new Uint8Array(4); // the start of a character cut by the end of a chunk
  #carried = 0; // bytes in #carry

  /**
   * Starts on the next chunk. Returns the character that a previous chunk left unfinished, if
   * this chunk completes it (or U+FFFD if it breaks it off), else `""`.
   */
  start(chunk: Uint8Array): string {
    this.position = 0;
    return this.#carried > 0 ? this.#completeCarry(chunk) : '';
  }

  /** The text of the next piece of the chunk, from `position`, which it moves past the piece. */
  next(chunk: Uint8Array): string {
    const start = this.position;
    const length = chunk.length;
    let end = length;
    if (length - start > PIECE) end = start + PIECE - incompleteTail(chunk, start, start + PIECE);
    this.position = end;
    const whole = start === 0 && end === length;
    if (this.#mixed) {
      this.#streamed = true;
      const text = this.#streaming.decode(whole ? chunk : chunk.subarray(start, end), STREAM);
      // After an ASCII last byte the streaming decoder holds nothing and the one-shot one can
      // take over. As many characters as bytes: the piece was ASCII (or nearly).
      if (text.length === end - start && chunk[end - 1]! < 0x80) this.#mixed = false;
      return text;
    }
    let stop = end;
    if (end === length && chunk[end - 1]! >= 0x80) {
      const tail = incompleteTail(chunk, start, end);
      if (tail > 0) {
        stop = end - tail;
        for (let index = 0; index < tail; index++) this.#carry[index] = chunk[stop + index]!;
        this.#carried = tail;
        if (stop === start) return '';
      }
    }
    const text = this.#oneShot.decode(whole && stop === end ? chunk : chunk.subarray(start, stop));
    if (text.length !== stop - start) this.#mixed = true;
    return text;
  }

  /** Forgets a character cut by the end of the last chunk: the stream starts again. */
  reset(): void {
    if (this.#streamed) this.#streaming = new TextDecoder('utf-8', { ignoreBOM: true });
    this.#streamed = false;
    this.#mixed = false;
    this.#carried = 0;
  }

  // The carried start of a character meets the next chunk and takes its continuation bytes. UTF-8
  // decoder, step 5 onwards: a byte out of range ends the sequence with one U+FFFD and is decoded
  // afresh.
  #completeCarry(chunk: Uint8Array): string {
    const carry = this.#carry;
    const lead = carry[0]!;
    const needed = sequenceLength(lead);
    let count = this.#carried;
    let used = 0;
    while (count < needed && used < chunk.length) {
      const byte = chunk[used]!;
      if (byte < lowerBound(lead, count) || byte > upperBound(lead, count)) break;
      carry[count++] = byte;
      used++;
    }
    this.position = used;
    if (count < needed && used === chunk.length) {
      this.#carried = count; // the chunk ended first: still unfinished
      return '';
    }
    this.#carried = 0;
    return count === needed ? this.#oneShot.decode(carry.subarray(0, count)) : '\uFFFD';
  }
}
