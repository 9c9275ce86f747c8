/**
 * The most bytes decoded in one call. A decoded string past about 128 KB lands in V8's large
 * object space, whose allocation costs ten to twenty times as much per byte (two-byte strings get
 * there from 64 Ki characters): a stream in 96 KiB chunks decodes ten times slower than in 32 KiB
 * ones. Pieces of 32 KiB stay clear of it for any text.
 */
export const PIECE: number = 32 * 1024;
const STREAM: TextDecodeOptions = { stream: true };

/**
 * Where the piece of `bytes` that starts at `start` ends: the chunk's end, or a cut at most
 * {@link PIECE} bytes on where a UTF-8 decoder holds nothing. That is before any byte that is not
 * a continuation byte (80 to BF): a sequence it interrupts ends there with one U+FFFD, as it does
 * at the end of the input; or after three continuation bytes in a row, which no sequence can
 * still be waiting for.
 */
export function pieceEnd(bytes: Uint8Array, start: number): number {
  let end = bytes.length;
  if (end - start > PIECE) {
    end = start + PIECE;
    for (let cut = end; cut > end - 4; cut--) {
      if ((bytes[cut]! & 0xc0) !== 0x80) return cut;
    }
  }
  return end;
}

/**
 * A streaming UTF-8 decoder (WHATWG: invalid and truncated sequences become U+FFFD, also across
 * chunks; a BOM is left to the caller) built for speed on every engine. The parser decodes each
 * chunk in pieces cut by {@link pieceEnd}.
 *
 * Two `TextDecoder`s, because engines decode differently: Node's one-shot `decode(bytes)` is SIMD
 * on ASCII (five times its streaming path), while on mixed text its streaming path (ICU) is the
 * faster one. So a piece is decoded one-shot while the stream is ASCII, and by the streaming
 * decoder from a piece that was not until a piece is ASCII again: a choice made per stream from
 * its own text, never from the state of the process. The one-shot decoder is never called with
 * `{ stream: true }` (Node drops its fast path for good after such a call): a piece that may end
 * inside a character is decoded one-shot up to that character's lead byte (a cut where the
 * decoder holds nothing, see {@link pieceEnd}), the rest by the streaming decoder, which keeps it
 * for the next chunk. Both give the same text, which the tests check on random bytes.
 *
 * A class, like the parser's state, so that its methods are compiled once for every parser.
 *
 * @see https://encoding.spec.whatwg.org/#utf-8-decoder
 */
export class ChunkDecoder {
  readonly #oneShot = new TextDecoder('utf-8', { ignoreBOM: true });
  readonly #streaming = new TextDecoder('utf-8', { ignoreBOM: true });
  #mixed = false; // the last piece was not ASCII, or left a character open: decode by #streaming

  /** The text of `bytes[start, end)`, the next piece of the stream. */
  decode(bytes: Uint8Array, start: number, end: number): string {
    const piece = start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end);
    if (this.#mixed) {
      const text = this.#streaming.decode(piece, STREAM);
      // After an ASCII last byte the streaming decoder holds nothing and the one-shot one can
      // take over. As many characters as bytes: the piece was ASCII (or nearly).
      if (text.length === end - start && bytes[end - 1]! < 0x80) this.#mixed = false;
      return text;
    }
    // The last lead byte in the last three, if the bytes after it do not complete its sequence.
    let cut = end - 1;
    while (cut > start && cut > end - 3 && (bytes[cut]! & 0xc0) === 0x80) cut--;
    const lead = bytes[cut]!;
    if (lead < 0xc0 || end - cut >= (lead < 0xe0 ? 2 : lead < 0xf0 ? 3 : 4)) cut = end;
    let text = this.#oneShot.decode(cut === end ? piece : bytes.subarray(start, cut));
    if (cut < end) text += this.#streaming.decode(bytes.subarray(cut, end), STREAM);
    if (cut < end || text.length !== end - start) this.#mixed = true;
    return text;
  }

  /** Forgets a character left open by the last chunk: the stream starts again. */
  reset(): void {
    this.#streaming.decode();
    this.#mixed = false;
  }
}
