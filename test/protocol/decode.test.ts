/**
 * The parser's chunk decoder (src/protocol/_decode.ts) against `TextDecoder` reading the whole
 * stream at once: the same text for any bytes (valid or not) however they are cut, through each
 * of its paths: one-shot pieces while the stream is ASCII, a character cut by a chunk end and
 * handed to the streaming decoder (completed, broken off by an invalid byte, or still open after
 * tiny chunks), the streaming decoder after non-ASCII text and the way back, and chunks cut into
 * 32 KiB pieces.
 *
 * @see https://encoding.spec.whatwg.org/#utf-8-decoder
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { ChunkDecoder, PIECE, pieceEnd } from '../../src/protocol/_decode.ts';
import { byteByByte, bytesOf, concatBytes, splitAtAll } from '../helpers/chunking.ts';

/** Runs the decoder over chunks the way the parser does; returns the pieces of text. */
function decodePieces(chunks: readonly Uint8Array[], decoder = new ChunkDecoder()): string[] {
  const pieces: string[] = [];
  for (const chunk of chunks) {
    for (let start = 0, end: number; start < chunk.length; start = end) {
      end = pieceEnd(chunk, start);
      pieces.push(decoder.decode(chunk, start, end));
    }
  }
  return pieces;
}

/** Decodes chunks as one stream; a character still open at the end is dropped (as end() does). */
function decodeAll(chunks: readonly Uint8Array[]): string {
  return decodePieces(chunks).join('');
}

/**
 * What the decoder must give: the text of the bytes before an unfinished last character (what a
 * streaming TextDecoder gives for the whole stream at once).
 */
function reference(bytes: Uint8Array): string {
  return new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes, { stream: true });
}

const ascii = fc.string({ unit: 'grapheme-ascii', maxLength: 40 });
const unicode = fc.string({ unit: 'binary', maxLength: 12 });
const invalid = fc.constantFrom(
  ...[
    [0x80],
    [0xbf],
    [0xc0, 0x80],
    [0xc1, 0xbf],
    [0xe0, 0x80, 0x80], // overlong: E0 needs A0-BF next
    [0xed, 0xa0, 0x80], // a surrogate: ED needs 80-9F next
    [0xf0, 0x80, 0x80, 0x80], // overlong: F0 needs 90-BF next
    [0xf4, 0x90, 0x80, 0x80], // past U+10FFFF: F4 needs 80-8F next
    [0xf5],
    [0xff],
    [0xe0, 0x80], // the invalid second bytes alone, before whatever follows
    [0xed, 0xa0],
    [0xf0, 0x8f],
    [0xf4, 0x90],
    [0xe4, 0xb8], // truncated 3-byte
    [0xf0, 0x9f, 0x98], // truncated 4-byte
    [0xc3], // truncated 2-byte
  ].map((bytes) => Uint8Array.from(bytes)),
);
const encoder = new TextEncoder();
const part = fc.oneof(
  { weight: 4, arbitrary: ascii.map((text) => encoder.encode(text)) },
  { weight: 3, arbitrary: unicode.map((text) => encoder.encode(text)) },
  { weight: 1, arbitrary: invalid },
);
const byteStream = fc.array(part, { maxLength: 40 }).map((parts) => concatBytes(...parts));
const cuts = fc.array(fc.nat(), { maxLength: 30 });

describe('ChunkDecoder decodes like TextDecoder over the whole stream', () => {
  test('any bytes, whole, in random chunks and byte by byte', () => {
    fc.assert(
      fc.property(byteStream, cuts, (bytes, at) => {
        const expected = reference(bytes);
        expect(decodeAll([bytes])).toBe(expected);
        const chunks = splitAtAll(
          bytes,
          at.map((cut) => cut % (bytes.length + 1)),
        );
        expect(decodeAll(chunks)).toBe(expected);
        expect(decodeAll(byteByByte(bytes))).toBe(expected);
      }),
      { numRuns: 400 },
    );
  });

  test('ASCII stretches and mixed stretches in turn, cut anywhere (decoder switches)', () => {
    const stretch = fc.oneof(
      fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 200 }),
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }),
    );
    fc.assert(
      fc.property(fc.array(stretch, { maxLength: 12 }), cuts, (stretches, at) => {
        const bytes = encoder.encode(stretches.join(''));
        const chunks = splitAtAll(
          bytes,
          at.map((cut) => cut % (bytes.length + 1)),
        );
        expect(decodeAll(chunks)).toBe(reference(bytes));
      }),
      { numRuns: 300 },
    );
  });
});

describe('a character cut by the end of a chunk (one-shot path)', () => {
  // The stream starts with ASCII, so the cut character is found at the end of a one-shot piece.
  const cases: Array<[string, number[], string]> = [
    ['2-byte', [0xc3, 0xa9], 'é'],
    ['3-byte', [0xe4, 0xb8, 0xad], '中'],
    ['3-byte after E0', [0xe0, 0xa4, 0xb9], 'ह'],
    ['3-byte after ED', [0xed, 0x9f, 0xbf], '\ud7ff'],
    ['4-byte', [0xf0, 0x9f, 0x98, 0x80], '😀'],
    ['4-byte after F4', [0xf4, 0x8f, 0xbf, 0xbf], '\u{10ffff}'],
  ];
  for (const [name, sequence, character] of cases) {
    test(`${name}: completed by the next chunk, at every cut, and one byte at a time`, () => {
      const bytes = bytesOf('ab', sequence, 'cd');
      for (let cut = 3; cut < 2 + sequence.length; cut++) {
        expect(decodeAll(splitAtAll(bytes, [cut])), `cut at ${cut}`).toBe(`ab${character}cd`);
      }
      expect(decodeAll(byteByByte(bytes))).toBe(`ab${character}cd`);
      // The carried bytes arrive in tiny chunks, with empty ones between.
      const tiny = [bytesOf('ab'), ...sequence.map((byte) => Uint8Array.of(byte)), bytesOf('cd')];
      const withEmpty = tiny.flatMap((chunk) => [chunk, new Uint8Array(0)]);
      expect(decodeAll(withEmpty)).toBe(`ab${character}cd`);
    });
  }

  test('broken off by an out-of-range byte: one U+FFFD, and the byte is decoded afresh', () => {
    expect(decodeAll([bytesOf('a', [0xe4]), bytesOf('b')])).toBe('a\uFFFDb');
    expect(decodeAll([bytesOf('a', [0xe4, 0xb8]), bytesOf('b')])).toBe('a\uFFFDb');
    expect(decodeAll([bytesOf('a', [0xe4]), bytesOf([0xb8], 'b')])).toBe('a\uFFFDb');
    // A new lead byte ends the carried sequence and starts its own.
    expect(decodeAll([bytesOf('a', [0xe4]), bytesOf([0xc3, 0xa9])])).toBe('a\uFFFDé');
    expect(decodeAll([bytesOf('a', [0xf0, 0x9f]), bytesOf([0xf0, 0x9f, 0x98, 0x80])])).toBe(
      'a\uFFFD😀',
    );
    // Second-byte ranges after E0, ED, F0 and F4 (no overlongs, surrogates, or past U+10FFFF).
    expect(decodeAll([bytesOf('a', [0xe0]), bytesOf([0x80, 0x80])])).toBe('a\uFFFD\uFFFD\uFFFD');
    expect(decodeAll([bytesOf('a', [0xed]), bytesOf([0xa0, 0x80])])).toBe('a\uFFFD\uFFFD\uFFFD');
    expect(decodeAll([bytesOf('a', [0xf0]), bytesOf([0x8f, 0x80, 0x80])])).toBe(
      'a\uFFFD\uFFFD\uFFFD\uFFFD',
    );
    expect(decodeAll([bytesOf('a', [0xf4]), bytesOf([0x90, 0x80, 0x80])])).toBe(
      'a\uFFFD\uFFFD\uFFFD\uFFFD',
    );
    for (const lead of [0xe0, 0xed, 0xf0, 0xf4]) {
      const second = lead === 0xe0 ? 0x80 : lead === 0xed ? 0xa0 : lead === 0xf0 ? 0x8f : 0x90;
      expect(decodeAll([bytesOf('a', [lead]), bytesOf([second], 'b')]), `${lead}`).toBe(
        'a\uFFFD\uFFFDb',
      );
    }
  });

  test('reset() forgets a carried character', () => {
    const decoder = new ChunkDecoder();
    expect(decodePieces([bytesOf('a', [0xe4, 0xb8])], decoder).join('')).toBe('a');
    decoder.reset();
    expect(decodePieces([bytesOf([0xad], 'b')], decoder).join('')).toBe('\uFFFDb');
  });

  test('reset() forgets what the streaming decoder holds', () => {
    const decoder = new ChunkDecoder();
    // Mixed text first, so that the next chunk goes to the streaming decoder, which holds E4 B8.
    expect(decodePieces([bytesOf('é'), bytesOf('ü', [0xe4, 0xb8])], decoder).join('')).toBe('éü');
    decoder.reset();
    expect(decodePieces([bytesOf([0xad], 'b')], decoder).join('')).toBe('\uFFFDb');
  });
});

describe('chunks larger than one piece', () => {
  test(`decoded in pieces of at most ${PIECE} bytes, cut between characters`, () => {
    for (const sequence of [
      [0xc3, 0xa9],
      [0xe4, 0xb8, 0xad],
      [0xf0, 0x9f, 0x98, 0x80],
    ]) {
      for (let shift = 0; shift < sequence.length; shift++) {
        // A character across the piece boundary at every offset, twice over three pieces.
        const head = new Uint8Array(PIECE - 1 - shift).fill(0x61);
        const bytes = bytesOf(head, sequence, head, sequence, 'end');
        const pieces = decodePieces([bytes]);
        expect(pieces.length).toBeGreaterThan(1);
        for (const piece of pieces) expect(encoder.encode(piece).length).toBeLessThanOrEqual(PIECE);
        expect(pieces.join('')).toBe(reference(bytes));
      }
    }
  });

  test('a large chunk of mixed text, then ASCII, then mixed again', () => {
    const mixed = encoder.encode('héllo wörld 中文 😀 '.repeat(5000));
    const plain = encoder.encode('plain ascii text '.repeat(5000));
    const bytes = concatBytes(mixed, plain, mixed);
    expect(decodeAll([mixed, plain, mixed])).toBe(reference(bytes));
    expect(decodeAll(splitAtAll(bytes, [70_001, 150_003, 200_000]))).toBe(reference(bytes));
  });
});
