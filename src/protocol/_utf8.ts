/**
 * UTF-8 boundaries, by the WHATWG Encoding standard's UTF-8 decoder: where a byte stream can be
 * cut so that decoding the pieces one by one gives the same text as decoding it whole, and how a
 * sequence cut by a chunk boundary continues in the next chunk.
 * @see https://encoding.spec.whatwg.org/#utf-8-decoder
 */

/**
 * How many bytes at the end of `bytes[start, end)` a UTF-8 decoder that started at `start` would
 * hold back as the valid start of an unfinished sequence (0 to 3). Cutting the stream at
 * `end - incompleteTail(...)` never splits a character, nor changes where U+FFFD appears: after
 * the cut the decoder holds nothing.
 */
export function incompleteTail(bytes: Uint8Array, start = 0, end: number = bytes.length): number {
  for (let back = 1; back <= 3 && back <= end - start; back++) {
    const byte = bytes[end - back]!;
    if (byte >= 0x80 && byte <= 0xbf) continue; // a continuation byte: look further back
    if (byte < 0xc2 || byte > 0xf4) return 0; // ASCII or a byte that never leads a sequence
    const seen = back - 1;
    if (seen >= sequenceLength(byte) - 1) return 0; // complete (or followed by stray bytes)
    if (seen === 0) return back;
    const second = bytes[end - back + 1]!;
    return second >= lowerBound(byte, 1) && second <= upperBound(byte, 1) ? back : 0;
  }
  return 0;
}

/** The length of the sequence a lead byte (0xC2 to 0xF4) starts: 2, 3 or 4. */
export function sequenceLength(lead: number): number {
  return lead < 0xe0 ? 2 : lead < 0xf0 ? 3 : 4;
}

/**
 * The smallest valid byte at position `index` (1 to 3) of a sequence led by `lead`: the second
 * byte's range excludes overlong forms (after 0xE0 and 0xF0).
 */
export function lowerBound(lead: number, index: number): number {
  if (index !== 1) return 0x80;
  return lead === 0xe0 ? 0xa0 : lead === 0xf0 ? 0x90 : 0x80;
}

/**
 * The largest valid byte at position `index` (1 to 3) of a sequence led by `lead`: the second
 * byte's range excludes surrogates (after 0xED) and code points past U+10FFFF (after 0xF4).
 */
export function upperBound(lead: number, index: number): number {
  if (index !== 1) return 0xbf;
  return lead === 0xed ? 0x9f : lead === 0xf4 ? 0x8f : 0xbf;
}
