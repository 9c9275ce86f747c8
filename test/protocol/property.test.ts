/**
 * Property tests (fast-check):
 * - `parse(encode(x))` gives back `x` (as well-formed Unicode) for any events, in any chunking;
 * - any byte stream parses exactly like a literal reading of the spec over the whole stream
 *   decoded by `TextDecoder`, however it is cut.
 *
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  createParser,
  type EventInput,
  EventStreamDecoder,
  EventStreamEncoder,
  encodeEvent,
  type ServerSentEvent,
} from '../../src/index.ts';
import {
  byteByByte,
  bytesOf,
  concatBytes,
  readAll,
  splitAtAll,
  streamOf,
} from '../helpers/chunking.ts';

const NUM_RUNS = 300;

interface Outcome {
  events: ServerSentEvent[];
  retries: number[];
  comments: string[];
  lastEventId: string;
}

function parseChunks(chunks: readonly (Uint8Array | string)[]): Outcome {
  const outcome: Outcome = { events: [], retries: [], comments: [], lastEventId: '' };
  const parser = createParser({
    onEvent: (event) => outcome.events.push({ ...event }),
    onRetry: (retry) => outcome.retries.push(retry),
    onComment: (comment) => outcome.comments.push(comment),
    maxEventSize: Number.POSITIVE_INFINITY,
  });
  for (const chunk of chunks) parser.feed(chunk);
  parser.end();
  outcome.lastEventId = parser.lastEventId;
  return outcome;
}

/** `String.prototype.toWellFormed` (ES2024), written out: lone surrogates become U+FFFD. */
function wellFormed(text: string): string {
  let out = '';
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code >= 0xd800 && code <= 0xdbff) {
      const next = text.charCodeAt(index + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        out += text[index]! + text[index + 1]!;
        index++;
      } else {
        out += '\uFFFD';
      }
    } else if (code >= 0xdc00 && code <= 0xdfff) {
      out += '\uFFFD';
    } else {
      out += text[index]!;
    }
  }
  return out;
}

/**
 * A literal reading of "interpreting an event stream" over a whole decoded text, with the two
 * last-event-ID variables of the spec kept apart (buffer, and string as of the last dispatch).
 */
function referenceParse(decoded: string, stats?: { largestData: number }): Outcome {
  const outcome: Outcome = { events: [], retries: [], comments: [], lastEventId: '' };
  const text = decoded.startsWith('\uFEFF') ? decoded.slice(1) : decoded;
  const lines = text.split(/\r\n|\r|\n/);
  lines.pop(); // the unterminated rest: discarded at the end of the stream
  let data = '';
  let type = '';
  let idBuffer = '';
  for (const line of lines) {
    if (line === '') {
      outcome.lastEventId = idBuffer;
      if (data === '') {
        type = '';
        continue;
      }
      if (data.endsWith('\n')) data = data.slice(0, -1);
      outcome.events.push({ type: type || 'message', data, id: outcome.lastEventId });
      data = '';
      type = '';
      continue;
    }
    const colon = line.indexOf(':');
    if (colon === 0) {
      outcome.comments.push(line.startsWith(' ', 1) ? line.slice(2) : line.slice(1));
      continue;
    }
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') type = value;
    else if (field === 'data') {
      data += `${value}\n`;
      if (stats) stats.largestData = Math.max(stats.largestData, data.length - 1);
    } else if (field === 'id' && !value.includes('\0')) idBuffer = value;
    else if (field === 'retry' && /^[0-9]+$/.test(value)) outcome.retries.push(Number(value));
  }
  return outcome;
}

// Strings: any code point, plus what stresses the parser and the encoder: line breaks, spaces,
// colons, BOMs, NUL, lone surrogates (both halves) and multibyte characters.
const loneSurrogate = fc
  .integer({ min: 0xd800, max: 0xdfff })
  .map((code) => String.fromCharCode(code));
const codePoint = fc.string({ unit: 'binary', minLength: 1, maxLength: 1 });
const special = fc.constantFrom(' ', ':', '\uFEFF', 'é', '€', '😀', 'data: ', 'id:', '\t');
const lineBreak = fc.constantFrom('\n', '\r', '\r\n');

const anyText = fc.string({
  unit: fc.oneof(codePoint, special, lineBreak, fc.constant('\0'), loneSurrogate),
  maxLength: 24,
});
const lineText = fc.string({
  unit: fc
    .oneof(codePoint, special, fc.constant('\0'), loneSurrogate)
    .filter((unit) => !/[\r\n]/.test(unit)),
  maxLength: 12,
});
const idText = lineText.filter((text) => !text.includes('\0'));

const eventInput: fc.Arbitrary<EventInput> = fc.record(
  {
    data: anyText,
    event: lineText,
    id: idText,
    retry: fc.maxSafeNat(),
    comment: anyText,
  },
  { requiredKeys: ['data'] },
);

const cuts = fc.array(fc.nat(), { maxLength: 24 });

/**
 * A CR cannot be sent in a value: every CR, LF or CRLF in `data` becomes a line break, and data
 * lines are joined with LF. So data comes back with each line break as LF.
 */
const asLines = (text: string): string => text.replace(/\r\n?/g, '\n');

/** What decoding `inputs`, encoded as UTF-8, must give. */
function expectedOf(inputs: readonly EventInput[]): Outcome {
  const outcome: Outcome = { events: [], retries: [], comments: [], lastEventId: '' };
  let id = '';
  for (const input of inputs) {
    if (input.comment !== undefined) {
      outcome.comments.push(...wellFormed(input.comment).split(/\r\n|\r|\n/));
    }
    if (input.retry !== undefined) outcome.retries.push(input.retry);
    if (input.id !== undefined) id = wellFormed(input.id);
    outcome.lastEventId = id;
    if (input.data !== undefined) {
      const type = input.event ? wellFormed(input.event) : 'message';
      outcome.events.push({ type, data: asLines(wellFormed(input.data)), id });
    }
  }
  return outcome;
}

const encoder = new TextEncoder();
const encodeAll = (inputs: readonly EventInput[]): Uint8Array =>
  concatBytes(...inputs.map((input) => encoder.encode(encodeEvent(input))));

describe('parse(encode(x))', () => {
  test('one event round-trips in any chunking', () => {
    fc.assert(
      fc.property(eventInput, cuts, (input, at) => {
        const bytes = encodeAll([input]);
        const expected = expectedOf([input]);
        expect(parseChunks([bytes])).toStrictEqual(expected);
        expect(
          parseChunks(
            splitAtAll(
              bytes,
              at.map((cut) => cut % (bytes.length + 1)),
            ),
          ),
        ).toStrictEqual(expected);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  test('sequences of events keep their order, ids and retries, fed byte by byte too', () => {
    fc.assert(
      fc.property(fc.array(eventInput, { maxLength: 8 }), cuts, (inputs, at) => {
        const bytes = encodeAll(inputs);
        const expected = expectedOf(inputs);
        expect(
          parseChunks(
            splitAtAll(
              bytes,
              at.map((cut) => cut % (bytes.length + 1)),
            ),
          ),
        ).toStrictEqual(expected);
        expect(parseChunks(byteByByte(bytes))).toStrictEqual(expected);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  test('text fed as strings round-trips exactly, lone surrogates included', () => {
    fc.assert(
      fc.property(fc.array(eventInput, { maxLength: 6 }), cuts, (inputs, at) => {
        const text = inputs.map(encodeEvent).join('');
        const cutsAt = [...new Set(at.map((cut) => cut % (text.length + 1)))].sort((a, b) => a - b);
        const chunks = [0, ...cutsAt].map((start, index) =>
          text.slice(start, cutsAt[index] ?? text.length),
        );
        const outcome = parseChunks(chunks);
        let id = '';
        const events = inputs.flatMap((input): ServerSentEvent[] => {
          if (input.id !== undefined) id = input.id;
          if (input.data === undefined) return [];
          return [{ type: input.event || 'message', data: asLines(input.data), id }];
        });
        expect(outcome.events).toStrictEqual(events);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  test('retry round-trips for any safe integer', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), (retry) => {
        expect(parseChunks([encodeEvent({ retry })]).retries).toStrictEqual([retry]);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  test('EventStreamEncoder -> random chunks -> EventStreamDecoder round-trips', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(eventInput, { maxLength: 6 }), cuts, async (inputs, at) => {
        const encoded = await readAll(streamOf(inputs).pipeThrough(new EventStreamEncoder()));
        const bytes = concatBytes(...encoded);
        const chunks = splitAtAll(
          bytes,
          at.map((cut) => cut % (bytes.length + 1)),
        );
        const retries: number[] = [];
        const events = await readAll(
          streamOf(chunks).pipeThrough(
            new EventStreamDecoder({
              onRetry: (retry) => retries.push(retry),
              maxEventSize: Number.POSITIVE_INFINITY,
            }),
          ),
        );
        const expected = expectedOf(inputs);
        expect(events).toStrictEqual(expected.events);
        expect(retries).toStrictEqual(expected.retries);
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

// Byte streams built from random bytes and the pieces that matter: field names, line ends, BOMs,
// truncated, overlong and surrogate UTF-8 sequences, lone continuation bytes.
const token = fc.oneof(
  { weight: 3, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 4 }) },
  {
    weight: 6,
    arbitrary: fc.constantFrom(
      ...[
        'data:',
        'data: ',
        'event:',
        'id:',
        'id: 1',
        'retry:',
        'retry: 15',
        ':',
        ' ',
        'x',
        '7',
        'é',
        '€',
        '😀',
        '\0',
      ].map((text) => bytesOf(text)),
    ),
  },
  {
    weight: 6,
    arbitrary: fc.constantFrom(...['\n', '\r', '\r\n', '\n\n'].map((text) => bytesOf(text))),
  },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      ...[
        [0xef, 0xbb, 0xbf],
        [0xef, 0xbb],
        [0xc3],
        [0xe2, 0x82],
        [0xf0, 0x9f, 0x98],
        [0x80],
        [0xbf, 0x80],
        [0xc0, 0x80],
        [0xe0, 0x80, 0x80],
        [0xed, 0xa0, 0x80],
        [0xf4, 0x90, 0x80, 0x80],
        [0xff],
      ].map((bytes) => Uint8Array.from(bytes)),
    ),
  },
);
const byteStream = fc.array(token, { maxLength: 60 }).map((parts) => concatBytes(...parts));

describe('any byte stream parses like the spec read over TextDecoder output', () => {
  const referenceOf = (bytes: Uint8Array) =>
    referenceParse(new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes));

  test('whole and in random chunks', () => {
    fc.assert(
      fc.property(byteStream, cuts, (bytes, at) => {
        const expected = referenceOf(bytes);
        expect(parseChunks([bytes])).toStrictEqual(expected);
        expect(
          parseChunks(
            splitAtAll(
              bytes,
              at.map((cut) => cut % (bytes.length + 1)),
            ),
          ),
        ).toStrictEqual(expected);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  test('byte by byte', () => {
    fc.assert(
      fc.property(byteStream, (bytes) => {
        expect(parseChunks(byteByByte(bytes))).toStrictEqual(referenceOf(bytes));
      }),
      { numRuns: NUM_RUNS },
    );
  });

  test('streams that start with a BOM, or with bytes that look like one', () => {
    const start = fc.constantFrom(
      [0xef, 0xbb, 0xbf],
      [0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf],
      [0xef, 0xbb],
      [0xef],
      [],
    );
    fc.assert(
      fc.property(start, byteStream, cuts, (head, tail, at) => {
        const bytes = concatBytes(head, tail);
        const expected = referenceOf(bytes);
        expect(
          parseChunks(
            splitAtAll(
              bytes,
              at.map((cut) => cut % (bytes.length + 1)),
            ),
          ),
        ).toStrictEqual(expected);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  test('the same text fed as one string parses the same as the bytes', () => {
    fc.assert(
      fc.property(byteStream, (bytes) => {
        const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes);
        expect(parseChunks([text])).toStrictEqual(parseChunks([bytes]));
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

describe('maxEventSize', () => {
  interface Limited extends Outcome {
    errors: string[];
  }

  function parseLimited(chunks: readonly Uint8Array[], maxEventSize: number): Limited {
    const outcome: Limited = { events: [], retries: [], comments: [], errors: [], lastEventId: '' };
    const parser = createParser({
      onEvent: (event) => outcome.events.push({ ...event }),
      onRetry: (retry) => outcome.retries.push(retry),
      onComment: (comment) => outcome.comments.push(comment),
      onError: (error) => outcome.errors.push(error.code),
      maxEventSize,
    });
    for (const chunk of chunks) parser.feed(chunk);
    parser.end();
    outcome.lastEventId = parser.lastEventId;
    return outcome;
  }

  const longLine = fc
    .tuple(fc.constantFrom('data: ', 'data:', 'id: ', ': ', 'event: ', 'x'), fc.nat({ max: 40 }))
    .map(([field, length]) => bytesOf(field, 'y'.repeat(length), '\n'));
  const limitedStream = fc
    .array(fc.oneof(token, longLine), { maxLength: 40 })
    .map((parts) => concatBytes(...parts));

  test('the outcome, errors included, does not depend on where chunks are split', () => {
    fc.assert(
      fc.property(limitedStream, fc.integer({ min: 1, max: 48 }), cuts, (bytes, limit, at) => {
        const expected = parseLimited([bytes], limit);
        const cut = splitAtAll(
          bytes,
          at.map((index) => index % (bytes.length + 1)),
        );
        expect(parseLimited(cut, limit)).toStrictEqual(expected);
        expect(parseLimited(byteByByte(bytes), limit)).toStrictEqual(expected);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  test('a stream whose lines and events fit the limit parses as without a limit', () => {
    fc.assert(
      fc.property(byteStream, cuts, (bytes, at) => {
        const expected = parseChunks([bytes]);
        const text = new TextDecoder().decode(bytes);
        const longestLine = Math.max(0, ...text.split(/\r\n|\r|\n/).map((line) => line.length));
        // The data buffer of every block, dispatched or not (an unfinished one counts too).
        const stats = { largestData: 0 };
        referenceParse(text, stats);
        const limit = Math.max(1, longestLine, stats.largestData);
        const cut = splitAtAll(
          bytes,
          at.map((index) => index % (bytes.length + 1)),
        );
        expect(parseLimited(cut, limit)).toStrictEqual({ ...expected, errors: [] });
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

describe('the reference model itself', () => {
  // Keeps the oracle honest: a few hand-checked cases from the spec's own examples.
  test('spec examples', () => {
    expect(referenceParse('data: YHOO\ndata: +2\ndata: 10\n\n').events).toStrictEqual([
      { type: 'message', data: 'YHOO\n+2\n10', id: '' },
    ]);
    expect(
      referenceParse(
        ': test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n',
      ),
    ).toStrictEqual({
      events: [
        { type: 'message', data: 'first event', id: '1' },
        { type: 'message', data: 'second event', id: '' },
      ],
      retries: [],
      comments: ['test stream'],
      lastEventId: '',
    });
    expect(referenceParse('data\n\ndata\ndata\n\ndata:\n').events).toStrictEqual([
      { type: 'message', data: '', id: '' },
      { type: 'message', data: '\n', id: '' },
    ]);
    expect(
      referenceParse('data:test\n\ndata: test\n\n').events.map((event) => event.data),
    ).toStrictEqual(['test', 'test']);
    expect(wellFormed('a\uD800b\uDC00\uD83D\uDE00')).toBe('a\uFFFDb\uFFFD😀');
  });
});
