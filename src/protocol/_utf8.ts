/**
 * How many bytes at the end of `chunk` a WHATWG UTF-8 decoder that started the chunk empty would
 * hold back as the valid start of an unfinished sequence (0 to 3).
 * @see https://encoding.spec.whatwg.org/#utf-8-decoder
 */
export function incompleteTail(chunk: Uint8Array): number {
  const length = chunk.length;
  for (let back = 1; back <= 3 && back <= length; back++) {
    const byte = chunk[length - back]!;
    if (byte >= 0x80 && byte <= 0xbf) continue; // a continuation byte: look further back
    if (byte < 0xc2 || byte > 0xf4) return 0; // ASCII or a byte that never leads a sequence
    const needed = byte < 0xe0 ? 1 : byte < 0xf0 ? 2 : 3;
    const seen = back - 1;
    if (seen >= needed) return 0; // complete (or followed by stray continuation bytes)
    if (seen === 0) return back;
    const second = chunk[length - back + 1]!;
    const lower = byte === 0xe0 ? 0xa0 : byte === 0xf0 ? 0x90 : 0x80;
    const upper = byte === 0xed ? 0x9f : byte === 0xf4 ? 0x8f : 0xbf;
    return second >= lower && second <= upper ? back : 0;
  }
  return 0;
}
