/**
 * Conformance of `createParser` to WHATWG HTML "interpreting an event stream".
 *
 * Every stream case goes through `expectStream`, which feeds it whole, byte by byte, cut in two at
 * every index and in seeded random pieces, and asserts the exact same events, retries, comments,
 * errors and final last event ID each time. It also checks *when* each event arrives: during the
 * feed of the chunk that holds the first byte of its blank line's line ending (so a CR at the end
 * of a chunk dispatches at once, and a CRLF is never two line ends).
 *
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
 */
import { describe, expect, test } from 'vitest';
import {
  createParser,
  DEFAULT_MAX_EVENT_SIZE,
  ParseError,
  type ParserOptions,
  type ServerSentEvent,
  SsekitError,
} from '../../src/index.ts';
import { byteByByte, bytesOf, type ChunkingsOptions, chunkings } from '../helpers/chunking.ts';

const CR = 0x0d;
const LF = 0x0a;

interface Outcome {
  events: ServerSentEvent[];
  retries: number[];
  comments: string[];
  /** `code` of each error passed to onError. */
  errors: string[];
  /** `parser.lastEventId` after `end()`. */
  lastEventId: string;
}

type RunOptions = Pick<ParserOptions, 'maxEventSize' | 'lastEventId'>;

interface Run {
  outcome: Outcome;
  /** For each event, how many bytes had been fed (this chunk included) when it was dispatched. */
  dispatchedAt: number[];
}

function parseChunks(chunks: readonly Uint8Array[], options: RunOptions = {}): Run {
  const outcome: Outcome = { events: [], retries: [], comments: [], errors: [], lastEventId: '' };
  const dispatchedAt: number[] = [];
  let fed = 0;
  const parser = createParser({
    ...options,
    onEvent: (event) => {
      outcome.events.push({ ...event });
      dispatchedAt.push(fed);
    },
    onRetry: (retry) => outcome.retries.push(retry),
    onComment: (comment) => outcome.comments.push(comment),
    onError: (error) => outcome.errors.push(error.code),
  });
  for (const chunk of chunks) {
    fed += chunk.length;
    parser.feed(chunk);
  }
  parser.end();
  outcome.lastEventId = parser.lastEventId;
  return { outcome, dispatchedAt };
}

interface Expected {
  events: ServerSentEvent[];
  retries?: number[];
  comments?: string[];
  errors?: string[];
  /** @default the id of the last event, else the seeded `lastEventId`, else '' */
  lastEventId?: string;
}

/** Parses `input` in every chunking and asserts that each gives exactly `expected`. */
function expectStream(
  input: string | Uint8Array,
  expected: Expected,
  options: RunOptions & ChunkingsOptions = {},
): void {
  const bytes = typeof input === 'string' ? bytesOf(input) : input;
  const { seeds, everySplit, ...parserOptions } = options;
  const want: Outcome = {
    events: expected.events,
    retries: expected.retries ?? [],
    comments: expected.comments ?? [],
    errors: expected.errors ?? [],
    lastEventId:
      expected.lastEventId ?? expected.events.at(-1)?.id ?? parserOptions.lastEventId ?? '',
  };
  let reference: number[] | undefined;
  const chunkingOptions: ChunkingsOptions = {};
  if (seeds !== undefined) chunkingOptions.seeds = seeds;
  if (everySplit !== undefined) chunkingOptions.everySplit = everySplit;
  for (const { label, chunks } of chunkings(bytes, chunkingOptions)) {
    const { outcome, dispatchedAt } = parseChunks(chunks, parserOptions);
    expect(outcome, label).toStrictEqual(want);
    if (label === 'byte by byte') {
      reference = dispatchedAt;
      for (const offset of reference) {
        const byte = bytes[offset - 1];
        const firstOfLineEnd = byte === CR || (byte === LF && bytes[offset - 2] !== CR);
        expect(firstOfLineEnd, `byte by byte: event dispatched at byte ${offset - 1}`).toBe(true);
      }
    } else if (reference !== undefined) {
      expect(dispatchedAt, `${label}: dispatch timing`).toStrictEqual(
        expectedTiming(chunks, reference),
      );
    }
  }
}

// Each event must arrive while the chunk that holds the byte that dispatched it is fed.
function expectedTiming(chunks: readonly Uint8Array[], reference: readonly number[]): number[] {
  const ends: number[] = [];
  let sum = 0;
  for (const chunk of chunks) ends.push((sum += chunk.length));
  return reference.map((offset) => ends.find((end) => end >= offset) ?? -1);
}

function message(data: string, id = ''): ServerSentEvent {
  return { type: 'message', data, id };
}

function typed(type: string, data: string, id = ''): ServerSentEvent {
  return { type, data, id };
}

/** A parser that records events and comments, for step-by-step tests. */
function recorder(options: RunOptions = {}) {
  const events: ServerSentEvent[] = [];
  const comments: string[] = [];
  const retries: number[] = [];
  const parser = createParser({
    ...options,
    onEvent: (event) => events.push({ ...event }),
    onComment: (comment) => comments.push(comment),
    onRetry: (retry) => retries.push(retry),
  });
  return { parser, events, comments, retries };
}

const decode = (bytes: Uint8Array | readonly number[]): string =>
  new TextDecoder().decode(Uint8Array.from(bytes));

describe('UTF-8 decoding', () => {
  test('2, 3 and 4 byte characters split at every boundary', () => {
    expectStream('data: é€😀\n\nevent: ü€\nid: 😀é\ndata: a😀b€cé\n\n', {
      events: [message('é€😀'), typed('ü€', 'a😀b€cé', '😀é')],
    });
  });

  test('runs of multibyte characters, each byte its own chunk in the byte-by-byte run', () => {
    const data = 'éééé€€€€😀😀😀😀'.repeat(3);
    expectStream(`data:${data}\ndata:${data}\n\n`, { events: [message(`${data}\n${data}`)] });
  });

  test.each([
    ['a lone continuation byte', [0x80], '\uFFFD'],
    ['two lone continuation bytes', [0x80, 0xbf], '\uFFFD\uFFFD'],
    ['overlong NUL (C0 80)', [0xc0, 0x80], '\uFFFD\uFFFD'],
    ['overlong C1 BF', [0xc1, 0xbf], '\uFFFD\uFFFD'],
    ['overlong 3-byte (E0 80 80)', [0xe0, 0x80, 0x80], '\uFFFD\uFFFD\uFFFD'],
    ['overlong 4-byte (F0 80 80 80)', [0xf0, 0x80, 0x80, 0x80], '\uFFFD\uFFFD\uFFFD\uFFFD'],
    ['a UTF-8 encoded surrogate (ED A0 80)', [0xed, 0xa0, 0x80], '\uFFFD\uFFFD\uFFFD'],
    ['above U+10FFFF (F4 90 80 80)', [0xf4, 0x90, 0x80, 0x80], '\uFFFD\uFFFD\uFFFD\uFFFD'],
    ['bytes that never occur (F5, FE, FF)', [0xf5, 0xfe, 0xff], '\uFFFD\uFFFD\uFFFD'],
    ['a truncated 2-byte sequence before a letter', [0xc3, 0x41], '\uFFFDA'],
    ['a truncated 3-byte sequence before a letter', [0xe2, 0x82, 0x41], '\uFFFDA'],
    ['a truncated 4-byte sequence before a letter', [0xf0, 0x9f, 0x98, 0x41], '\uFFFDA'],
    ['a valid character after a broken one', [0xe2, 0x82, 0xe2, 0x82, 0xac], '\uFFFD€'],
    ['a 4-byte lead then a 3-byte character', [0xf0, 0xe2, 0x82, 0xac], '\uFFFD€'],
    ['the largest code point (F4 8F BF BF)', [0xf4, 0x8f, 0xbf, 0xbf], '\u{10FFFF}'],
    ['U+FFFD itself', [0xef, 0xbf, 0xbd], '\uFFFD'],
  ])('%s becomes what TextDecoder makes of it', (_name, bytes, expected) => {
    expect(decode(bytes)).toBe(expected);
    expectStream(bytesOf('data: a', bytes, 'b\n\n'), { events: [message(`a${expected}b`)] });
  });

  test.each([
    ['2-byte', [0xc3]],
    ['3-byte', [0xe2, 0x82]],
    ['4-byte', [0xf0, 0x9f, 0x98]],
  ])('a truncated %s sequence right before a LF or CR does not swallow the line end', (_n, b) => {
    expect(decode([...b, LF])).toBe('\uFFFD\n');
    expectStream(bytesOf('data: ', b, '\n\n'), { events: [message('\uFFFD')] });
    expectStream(bytesOf('data: ', b, '\r\r'), { events: [message('\uFFFD')] });
    expectStream(bytesOf('data: ', b, '\r\n\r\n'), { events: [message('\uFFFD')] });
    expectStream(bytesOf('id: ', b, '\ndata: x\n\n'), { events: [message('x', '\uFFFD')] });
  });

  test('a truncated sequence at the very end of the stream belongs to a discarded line', () => {
    expectStream(bytesOf('data: a\n\ndata: b', [0xe2, 0x82]), { events: [message('a')] });
  });

  test('a multibyte character split over the end of a data line and the next chunk', () => {
    const { parser, events } = recorder();
    parser.feed(bytesOf('data: x', [0xe2]));
    parser.feed(Uint8Array.of(0x82));
    parser.feed(bytesOf([0xac], '\n\n'));
    expect(events).toStrictEqual([message('x€')]);
  });
});

describe('BOM', () => {
  test('a BOM at the very start is stripped, also when split (EF | BB BF, EF BB | BF)', () => {
    expectStream(bytesOf([0xef, 0xbb, 0xbf], 'data: a\n\n'), { events: [message('a')] });
  });

  test('only one BOM is stripped: a second one starts the field name (WPT format-bom-2)', () => {
    expectStream(bytesOf([0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf], 'data: a\n\ndata: b\n\n'), {
      events: [message('b')],
    });
  });

  test('a BOM right after the first one, inside a value, is kept', () => {
    expectStream(bytesOf([0xef, 0xbb, 0xbf], 'data:', [0xef, 0xbb, 0xbf], 'x\n\n'), {
      events: [message('\uFEFFx')],
    });
    expectStream(bytesOf([0xef, 0xbb, 0xbf], 'data: ', [0xef, 0xbb, 0xbf], '\n\n'), {
      events: [message('\uFEFF')],
    });
  });

  test('a BOM in the middle of the stream is kept', () => {
    expectStream(bytesOf('data: a', [0xef, 0xbb, 0xbf], 'b\n\n'), {
      events: [message('a\uFEFFb')],
    });
    // At the start of a line it becomes part of the field name: the line is ignored.
    expectStream(bytesOf('data: a\n\n', [0xef, 0xbb, 0xbf], 'data: b\n\ndata: c\n\n'), {
      events: [message('a'), message('c')],
    });
  });

  test('a broken BOM is not a BOM: its bytes decode to U+FFFD', () => {
    expectStream(bytesOf([0xef, 0xbb], 'data: a\n\ndata: b\n\n'), { events: [message('b')] });
    expectStream(bytesOf([0xef, 0xbb], '\ndata: b\n\n'), { events: [message('b')] });
  });

  test('a BOM fed as the string "\\uFEFF" at the start is stripped too', () => {
    const whole = recorder();
    whole.parser.feed('\uFEFFdata: a\n\n');
    expect(whole.events).toStrictEqual([message('a')]);

    const alone = recorder();
    alone.parser.feed('');
    alone.parser.feed('\uFEFF');
    alone.parser.feed('data: a\n\n');
    expect(alone.events).toStrictEqual([message('a')]);

    const twice = recorder();
    twice.parser.feed('\uFEFF');
    twice.parser.feed('\uFEFFdata: a\n\ndata: b\n\n');
    expect(twice.events).toStrictEqual([message('b')]);
  });

  test('a U+FEFF later in a string chunk is kept', () => {
    const { parser, events } = recorder();
    parser.feed('data: a\n\n');
    parser.feed('\uFEFFdata: b\n\ndata: \uFEFF\n\n');
    expect(events).toStrictEqual([message('a'), message('\uFEFF')]);
  });
});

describe('line ends', () => {
  test.each([
    ['LF', '\n'],
    ['CR', '\r'],
    ['CRLF', '\r\n'],
  ])('%s ends lines and blank lines', (_name, eol) => {
    expectStream(`data: a${eol}data: b${eol}${eol}event: e${eol}data: c${eol}${eol}`, {
      events: [message('a\nb'), typed('e', 'c')],
    });
  });

  test('mixed line ends in one stream', () => {
    expectStream('data: a\rdata: b\ndata: c\r\n\ndata: d\n\r\ndata: e\r\r\ndata: f\r\n\r', {
      events: [message('a\nb\nc'), message('d'), message('e'), message('f')],
    });
  });

  test('"\\r\\r" is two line ends and "\\n\\r" is two line ends', () => {
    expectStream('data: a\r\rdata: b\n\rdata: c\r\r', {
      events: [message('a'), message('b'), message('c')],
    });
  });

  test('"\\r\\n\\r\\n" is one line end then a blank line, "\\r\\r\\n" too', () => {
    expectStream('data: a\r\n\r\ndata: b\r\r\ndata: c\n\n', {
      events: [message('a'), message('b'), message('c')],
    });
  });

  test('a CRLF split across two chunks is one line end, not an extra blank line', () => {
    const { parser, events } = recorder();
    parser.feed('data: a\r');
    parser.feed('\ndata: b\r');
    parser.feed('\n');
    expect(events).toStrictEqual([]);
    parser.feed('\r');
    expect(events).toStrictEqual([message('a\nb')]);
    parser.feed('\n');
    parser.feed('data: c\r\n\r\n');
    expect(events).toStrictEqual([message('a\nb'), message('c')]);
  });

  test('a CRLF split across two byte chunks is one line end', () => {
    const { parser, events } = recorder();
    parser.feed(bytesOf('data: a\r'));
    parser.feed(bytesOf('\ndata: b\r\n\r'));
    expect(events).toStrictEqual([message('a\nb')]);
    parser.feed(bytesOf('\n'));
    expect(events).toStrictEqual([message('a\nb')]);
  });

  test('a CR as the last byte of a chunk dispatches at once', () => {
    const { parser, events } = recorder();
    parser.feed(bytesOf('data: a\r\r'));
    expect(events).toStrictEqual([message('a')]);
    parser.feed(bytesOf('data: b\n\r'));
    expect(events).toStrictEqual([message('a'), message('b')]);
    parser.feed(bytesOf('data: c\r'));
    parser.feed(bytesOf('\r'));
    expect(events).toStrictEqual([message('a'), message('b'), message('c')]);
  });

  test('an LF after a chunk-final CR is swallowed even after empty chunks', () => {
    const { parser, events } = recorder();
    parser.feed('data: a\r');
    parser.feed('');
    parser.feed(new Uint8Array(0));
    parser.feed('\ndata: b\n\n');
    expect(events).toStrictEqual([message('a\nb')]);
  });

  test('an LF after a chunk-final CR is swallowed even behind a held UTF-8 byte', () => {
    const { parser, events } = recorder();
    parser.feed(bytesOf('data: a\r'));
    parser.feed(bytesOf('\ndata: ', [0xe2]));
    parser.feed(bytesOf([0x82, 0xac], '\n\n'));
    expect(events).toStrictEqual([message('a\n€')]);
  });

  test('a line of only line ends dispatches nothing', () => {
    expectStream('\n\r\n\r\r\n\n\n', { events: [] });
  });
});

describe('comments and fields', () => {
  test('comments: ": text", ":text", ":" and one leading space stripped', () => {
    expectStream(': text\n:text\n:\n:  two\n: \n::colon\n\n', {
      events: [],
      comments: ['text', 'text', '', ' two', '', ':colon'],
    });
  });

  test('comments do not dispatch and do not touch the event around them', () => {
    expectStream('data: a\n: between\r\ndata: b\r: end\n\n', {
      events: [message('a\nb')],
      comments: ['between', 'end'],
    });
  });

  test('only one leading space is stripped from a value', () => {
    expectStream('data:  x\n\ndata:x\n\ndata:\tx\n\ndata: \n\ndata:   \n\n', {
      events: [message(' x'), message('x'), message('\tx'), message(''), message('  ')],
    });
  });

  test('a field without a colon has an empty value: "data\\ndata\\n\\n" gives "\\n"', () => {
    expectStream('data\ndata\n\ndata\n\n', { events: [message('\n'), message('')] });
  });

  test('"data:" alone dispatches an event with empty data', () => {
    expectStream('data:\n\n', { events: [message('')] });
  });

  test('data lines are joined with LF and one trailing LF is removed', () => {
    expectStream('data: a\ndata: b\ndata: c\n\ndata: a\ndata:\n\ndata:\ndata:\n\n', {
      events: [message('a\nb\nc'), message('a\n'), message('\n')],
    });
  });

  test('a blank line without data dispatches nothing but resets the event type', () => {
    expectStream('event: x\n\ndata: y\n\n', { events: [message('y')] });
    expectStream('event: x\nid: 1\nretry: 5\n\ndata: y\n\n', {
      events: [message('y', '1')],
      retries: [5],
    });
  });

  test('the event type defaults to "message", an empty one too', () => {
    expectStream('data: a\n\nevent:\ndata: b\n\nevent\ndata: c\n\nevent: \ndata: d\n\n', {
      events: [message('a'), message('b'), message('c'), message('d')],
    });
  });

  test('the last event field of a block wins, and the type does not carry over', () => {
    expectStream('event: a\nevent: b\ndata: 1\n\ndata: 2\n\nevent:  spaced\ndata: 3\n\n', {
      events: [typed('b', '1'), message('2'), typed(' spaced', '3')],
    });
  });

  test('an event named "message" or anything else is kept as is', () => {
    expectStream('event: message\ndata: a\n\nevent: MESSAGE\ndata: b\n\n', {
      events: [message('a'), typed('MESSAGE', 'b')],
    });
  });

  test('unknown fields are ignored, field names are case-sensitive', () => {
    expectStream(
      'data: a\nfoo: bar\nData: no\nDATA: no\n data: no\ndata : no\nEvent: no\nID: 9\nRetry: 1\njustsometext\ndata: b\n\n',
      { events: [message('a\nb')] },
    );
  });

  test('only the first colon splits a line', () => {
    expectStream('data:x:y\nid:a:b\nevent::c\n\n', { events: [typed(':c', 'x:y', 'a:b')] });
  });

  test('NUL and other control characters in values are kept (data, event)', () => {
    expectStream('event: a\0b\ndata: \0\u0001\u007f\n\n', {
      events: [typed('a\0b', '\0\u0001\u007f')],
    });
  });
});

describe('id', () => {
  test('persists: an event without id carries the previous one', () => {
    expectStream('id: 1\ndata: a\n\ndata: b\n\nid: 2\ndata: c\n\ndata: d\n\n', {
      events: [message('a', '1'), message('b', '1'), message('c', '2'), message('d', '2')],
    });
  });

  test('an id containing NUL is ignored and the previous id kept', () => {
    expectStream('id: 1\ndata: a\n\nid: 2\0x\ndata: b\n\nid: \0\ndata: c\n\nid:\0\0\ndata: d\n\n', {
      events: [message('a', '1'), message('b', '1'), message('c', '1'), message('d', '1')],
    });
  });

  test('"id:" with an empty value resets the id to ""', () => {
    expectStream('id: 1\ndata: a\n\nid:\ndata: b\n\nid: 2\n\nid\ndata: c\n\n', {
      events: [message('a', '1'), message('b', ''), message('c', '')],
    });
  });

  test('an id-only block updates lastEventId without dispatching', () => {
    expectStream('id: 5\n\n', { events: [], lastEventId: '5' });
    expectStream('id: 5\n\ndata: x\n\n', { events: [message('x', '5')] });
    const { parser, events } = recorder();
    parser.feed('id: 5\n\n');
    expect(events).toStrictEqual([]);
    expect(parser.lastEventId).toBe('5');
  });

  test('an id set inside a block applies to that block, wherever it is', () => {
    expectStream('data: a\nid: 7\n\nid: 8\ndata: b\nid: 9\n\n', {
      events: [message('a', '7'), message('b', '9')],
    });
  });

  test('one leading space is stripped from the id, the rest kept', () => {
    expectStream('id:  x \ndata: a\n\nid:y\ndata: b\n\n', {
      events: [message('a', ' x '), message('b', 'y')],
    });
  });

  test('the id of an incomplete final block is not applied to any event', () => {
    // Spec: the last event ID string changes only when a blank line dispatches (step 1).
    expectStream('id: 1\ndata: a\n\nid: 2\ndata: b\n', {
      events: [message('a', '1')],
      lastEventId: '1',
    });
    expectStream('id: 1\ndata: a\n\nid: 2\n', { events: [message('a', '1')], lastEventId: '1' });
  });

  test('lastEventId changes at the blank line, not at the id field', () => {
    const { parser, events } = recorder();
    parser.feed('id: 1\ndata: a\n\nid: 2\ndata: b\n');
    expect(parser.lastEventId).toBe('1');
    parser.feed('\n');
    expect(parser.lastEventId).toBe('2');
    expect(events).toStrictEqual([message('a', '1'), message('b', '2')]);
  });

  test('an id in a block cut by end() does not reach the next stream', () => {
    const { parser, events } = recorder();
    parser.feed('id: 1\ndata: a\n\nid: 2\ndata: b\n');
    parser.end();
    expect(parser.lastEventId).toBe('1');
    parser.feed('data: c\n\n');
    expect(events).toStrictEqual([message('a', '1'), message('c', '1')]);
  });

  test('createParser({ lastEventId }) seeds the id', () => {
    expectStream(
      'data: a\n\nid: 2\ndata: b\n\n',
      { events: [message('a', 'x'), message('b', '2')] },
      {
        lastEventId: 'x',
      },
    );
    expectStream(': nothing\n', { events: [], comments: ['nothing'] }, { lastEventId: 'x' });
    const { parser } = recorder({ lastEventId: 'x' });
    expect(parser.lastEventId).toBe('x');
  });

  test('reset() keeps lastEventId and forgets an id of the unfinished block', () => {
    const { parser, events } = recorder();
    parser.feed('id: 3\ndata: a\n\nid: 4\ndata: partial\n');
    parser.reset();
    expect(parser.lastEventId).toBe('3');
    parser.feed('data: b\n\n');
    expect(events).toStrictEqual([message('a', '3'), message('b', '3')]);
  });
});

describe('retry', () => {
  test('all-ASCII-digit values call onRetry', () => {
    expectStream('retry: 1000\nretry:0\nretry:03000\nretry: 5\n\n', {
      events: [],
      retries: [1000, 0, 3000, 5],
    });
  });

  test.each([
    ['letters after digits', 'retry: 10a'],
    ['a sign', 'retry: -1'],
    ['a plus sign', 'retry: +1'],
    ['a decimal point', 'retry: 1.5'],
    ['an exponent', 'retry: 1e3'],
    ['an empty value', 'retry:'],
    ['no colon', 'retry'],
    ['two leading spaces', 'retry:  1000'],
    ['a trailing space', 'retry: 1000 '],
    ['a tab', 'retry:\t1000'],
    ['full-width digits', 'retry: １０'],
    ['Arabic-Indic digits', 'retry: ١٠'],
    ['hexadecimal', 'retry: 0x10'],
  ])('a value with %s is ignored', (_name, line) => {
    expectStream(`retry: 7\n${line}\ndata: a\n\n`, { events: [message('a')], retries: [7] });
  });

  test('big values are parsed in base ten', () => {
    expectStream('retry: 86400000\nretry: 4294967296\nretry: 9007199254740991\n', {
      events: [],
      retries: [86_400_000, 4_294_967_296, 9_007_199_254_740_991],
    });
  });

  test('retry does not dispatch nor change the event', () => {
    expectStream('data: a\nretry: 5\ndata: b\n\nretry: 6\n\n', {
      events: [message('a\nb')],
      retries: [5, 6],
    });
  });

  test('without onRetry, retry fields are ignored', () => {
    const events: ServerSentEvent[] = [];
    const parser = createParser({ onEvent: (event) => events.push(event) });
    parser.feed('retry: 100\ndata: a\n\n');
    expect(events).toStrictEqual([message('a')]);
  });
});

describe('end of stream', () => {
  test('an incomplete final event (no blank line) is discarded by end()', () => {
    expectStream('data: a\n\ndata: b\n', { events: [message('a')] });
    expectStream('data: a\n\nevent: x\ndata: b\r', { events: [message('a')] });
  });

  test('an unterminated final line is discarded', () => {
    expectStream('data: a\n\ndata: b', { events: [message('a')] });
    expectStream('data: a\n\n: unterminated comment', { events: [message('a')] });
    expectStream('retry: 10', { events: [] });
  });

  test('after end() a new stream starts clean: line, event, UTF-8 and BOM state', () => {
    const { parser, events } = recorder();
    parser.feed(bytesOf([0xef, 0xbb, 0xbf], 'data: a\n\nevent: x\ndata: b\ndata: c'));
    parser.end();
    // A kept line or event would complete here; a lost BOM state would make "\uFEFF" a field.
    parser.feed(bytesOf([0xef, 0xbb, 0xbf], '\n\ndata: d\n\n'));
    expect(events).toStrictEqual([message('a'), message('d')]);
    parser.feed(bytesOf('data: e', [0xe2, 0x82]));
    parser.end();
    parser.feed(bytesOf('data: f\n\n'));
    parser.feed(bytesOf('data: g\r'));
    parser.end();
    parser.feed(bytesOf('\ndata: h\n\n'));
    expect(events).toStrictEqual([message('a'), message('d'), message('f'), message('h')]);
  });

  test('a string BOM is stripped again after end()', () => {
    const { parser, events } = recorder();
    parser.feed('data: a\n\n');
    parser.end();
    parser.feed('\uFEFFdata: b\n\n');
    expect(events).toStrictEqual([message('a'), message('b')]);
  });

  test('reset() forgets the partial line and event', () => {
    const { parser, events } = recorder();
    parser.feed('data: a\ndata: b');
    parser.reset();
    parser.feed('\uFEFF\n\ndata: c\n\n');
    expect(events).toStrictEqual([message('c')]);
  });

  test('empty chunks are harmless', () => {
    const { parser, events } = recorder();
    parser.feed('');
    parser.feed(new Uint8Array(0));
    parser.feed('data: a\n');
    parser.feed('');
    parser.feed('\n');
    expect(events).toStrictEqual([message('a')]);
  });
});

describe('web-platform-tests eventsource/format-*', () => {
  // The WPT server (resources/message.py) answers `message + "\n\n" + "\n"`, or `message + "\n"`
  // with newline=none. Each body is reproduced here byte for byte.
  const wpt = (message: string, newline = '\n\n') => `${message}${newline}\n`;

  test('format-bom: one BOM stripped, a BOM later makes an unknown field', () => {
    expectStream(
      bytesOf([0xef, 0xbb, 0xbf], 'data:1\n\n', [0xef, 0xbb, 0xbf], wpt('data:2\n\ndata:3')),
      { events: [message('1'), message('3')] },
    );
  });

  test('format-bom-2: of two BOMs, the second makes an unknown field', () => {
    expectStream(bytesOf([0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf], wpt('data:1\n\ndata:2\n\ndata:3')), {
      events: [message('2'), message('3')],
    });
  });

  test('format-comments: comment fest', () => {
    const long = 'x'.repeat(2 * 1024);
    const body = wpt(
      `data:1\r:\0\n:\r\ndata:2\n:${long}\rdata:3\n:data:fail\r:${long}\ndata:4\n`,
      '',
    );
    expectStream(
      body,
      { events: [message('1\n2\n3\n4')], comments: ['\0', '', long, 'data:fail', long] },
      { everySplit: false, seeds: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] },
    );
    // Every split point too, for a shorter long string.
    const short = 'x'.repeat(64);
    expectStream(
      wpt(`data:1\r:\0\n:\r\ndata:2\n:${short}\rdata:3\n:data:fail\r:${short}\ndata:4\n`, ''),
      { events: [message('1\n2\n3\n4')], comments: ['\0', '', short, 'data:fail', short] },
    );
  });

  test('format-data-before-final-empty-line: the id of the cut block is not kept', () => {
    const body = wpt('retry:1000\ndata:test1\n\nid:test\ndata:test2', '');
    expectStream(body, { events: [message('test1')], retries: [1000], lastEventId: '' });
    // The browser reconnects and gets the same body again: test1 still has lastEventId "".
    const { parser, events, retries } = recorder();
    parser.feed(body);
    parser.end();
    parser.feed(body);
    parser.end();
    expect(events).toStrictEqual([message('test1'), message('test1')]);
    expect(retries).toStrictEqual([1000, 1000]);
    expect(parser.lastEventId).toBe('');
  });

  test('format-field-data', () => {
    expectStream(wpt('data:\n\ndata\ndata\n\ndata:test'), {
      events: [message(''), message('\n'), message('test')],
    });
  });

  test('format-field-event', () => {
    expectStream(wpt('event:test\ndata:x\n\ndata:x'), {
      events: [typed('test', 'x'), message('x')],
    });
  });

  test('format-field-event-empty', () => {
    expectStream(wpt('event: \ndata:data'), { events: [message('data')] });
  });

  test('format-field-id and format-field-id-2: the id persists across reconnections', () => {
    // resources/last-event-id.py: without Last-Event-ID it sends an id and "hello"; with one, it
    // echoes it back as data (no id field), so the id must carry over to the new stream.
    const { parser, events, retries } = recorder();
    parser.feed(bytesOf('id: …\nretry: 200\ndata: hello\n\n'));
    parser.end();
    expect(parser.lastEventId).toBe('…');
    parser.feed(bytesOf(`data: ${parser.lastEventId}\n\n`));
    parser.end();
    parser.feed(bytesOf(`data: ${parser.lastEventId}\n\n`));
    parser.end();
    expect(events).toStrictEqual([message('hello', '…'), message('…', '…'), message('…', '…')]);
    expect(retries).toStrictEqual([200]);
  });

  test('format-field-id-3: persists, changes and persists, resets', () => {
    expectStream('id: 1\ndata: 1\n\ndata:2\n\n', {
      events: [message('1', '1'), message('2', '1')],
    });
    expectStream('id: 1\ndata: 1\n\nid: 2\ndata:2\n\ndata:3\n\n', {
      events: [message('1', '1'), message('2', '2'), message('3', '2')],
    });
    expectStream('id: 1\ndata: 1\n\nid:\ndata:2\n\ndata:3\n\n', {
      events: [message('1', '1'), message('2', ''), message('3', '')],
    });
  });

  test.each(['\0\0', 'x\0', '\0x', 'x\0x', ' \0'])(
    'format-field-id-null: id %j is ignored',
    (idValue) => {
      expectStream(`id: ${idValue}\nretry: 200\ndata: hello\n\n`, {
        events: [message('hello', '')],
        retries: [200],
      });
    },
  );

  test('format-field-parsing', () => {
    const body = wpt(
      'data:\0\ndata:  2\rData:1\ndata\0:2\ndata:1\r\0data:4\nda-ta:3\rdata_5\ndata:3\rdata:\r\n data:32\ndata:4\n',
      '',
    );
    expectStream(body, { events: [message('\0\n 2\n1\n3\n\n4')] });
  });

  test('format-field-retry: "03000" is 3000 in base ten', () => {
    expectStream(wpt('retry:03000\ndata:x'), { events: [message('x')], retries: [3000] });
  });

  test('format-field-retry-bogus: "1000x" is ignored', () => {
    expectStream(wpt('retry:3000\nretry:1000x\ndata:x'), {
      events: [message('x')],
      retries: [3000],
    });
  });

  test('format-field-retry-empty', () => {
    expectStream(wpt('retry\ndata:test'), { events: [message('test')] });
  });

  test('format-field-unknown', () => {
    expectStream(
      wpt('data:test\n data\ndata\nfoobar:xxx\njustsometext\n:thisisacommentyay\ndata:test'),
      { events: [message('test\n\ntest')], comments: ['thisisacommentyay'] },
    );
  });

  test('format-leading-space', () => {
    expectStream(wpt('data:\ttest\rdata: \ndata:test'), { events: [message('\ttest\n\ntest')] });
  });

  test('format-mime-*: the default body parses (MIME checks belong to the client)', () => {
    // format-mime-trailing-semicolon, format-mime-valid-bogus and format-mime-bogus send the
    // default body; whether to parse it at all is decided from Content-Type by the client.
    expectStream(wpt('data: data'), { events: [message('data')] });
  });

  test('format-newlines', () => {
    expectStream(wpt('data:test\r\ndata\ndata:test\r\n\r', ''), {
      events: [message('test\n\ntest')],
    });
  });

  test('format-null-character', () => {
    expectStream(wpt('data:\0\n\n'), { events: [message('\0')] });
  });

  test('format-utf-8: always UTF-8', () => {
    expectStream(bytesOf('data:ok', [0xe2, 0x80, 0xa6], '\n\n\n'), { events: [message('ok…')] });
  });
});

describe('maxEventSize', () => {
  const long = (length: number) => 'x'.repeat(length);

  test('a line longer than the limit is reported, skipped to its blank line, and parsing goes on', () => {
    expectStream(
      `id: 1\ndata: a\n\ndata: ${long(40)}\nid: 2\ndata: more\nevent: x\n\ndata: b\n\n`,
      { events: [message('a', '1'), message('b', '1')], errors: ['event-too-large'] },
      { maxEventSize: 16 },
    );
  });

  test('the error is a ParseError and an SsekitError with code, limit and message', () => {
    const errors: unknown[] = [];
    const events: ServerSentEvent[] = [];
    const parser = createParser({
      onEvent: (event) => events.push(event),
      onError: (error) => errors.push(error),
      maxEventSize: 16,
    });
    parser.feed(`data: a\n\ndata: ${long(40)}\n\ndata: b\n\n`);
    expect(events).toStrictEqual([message('a'), message('b')]);
    expect(errors).toHaveLength(1);
    const [error] = errors;
    expect(ParseError.isInstance(error)).toBe(true);
    expect(SsekitError.isInstance(error)).toBe(true);
    expect(error).toBeInstanceOf(ParseError);
    expect(error).toBeInstanceOf(SsekitError);
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ name: 'ParseError', code: 'event-too-large', limit: 16 });
    expect((error as Error).message).toContain('maxEventSize (16');
  });

  test('a line that arrives across many chunks: one error, the pending text is dropped', () => {
    const events: ServerSentEvent[] = [];
    const errors: ParseError[] = [];
    const parser = createParser({
      onEvent: (event) => events.push(event),
      onError: (error) => errors.push(error),
      maxEventSize: 1000,
    });
    parser.feed('data: a\n\ndata: ');
    const piece = long(100);
    for (let index = 0; index < 1000; index++) parser.feed(piece);
    parser.feed('\ndata: still skipped\n');
    parser.feed('\ndata: b\n\n');
    expect(events).toStrictEqual([message('a'), message('b')]);
    expect(errors.map((error) => error.code)).toStrictEqual(['event-too-large']);
  });

  test('a line longer than the longest possible string is skipped (memory does not grow)', () => {
    // 640 Mi code units: more than V8's maximum string length (2^29 - 24). A parser that kept
    // the pending line would throw a RangeError building it.
    const events: ServerSentEvent[] = [];
    const errors: ParseError[] = [];
    const parser = createParser({
      onEvent: (event) => events.push(event),
      onError: (error) => errors.push(error),
    });
    const piece = new Uint8Array(1024 * 1024).fill(0x78);
    parser.feed('data: a\n\ndata: ');
    for (let index = 0; index < 640; index++) parser.feed(piece);
    parser.feed('\n\ndata: b\n\n');
    expect(events).toStrictEqual([message('a'), message('b')]);
    expect(errors.map((error) => error.code)).toStrictEqual(['event-too-large']);
  }, 60_000);

  test('an event whose data lines together pass the limit', () => {
    expectStream(
      'data: 0123456789\ndata: 0123456789\ndata: 0123456789\n\ndata: ok\n\n',
      { events: [message('ok')], errors: ['event-too-large'] },
      { maxEventSize: 20 },
    );
  });

  test('the limit does not depend on chunk boundaries: an event at the limit passes', () => {
    // Lines of 16 and 11 code units, data of 16: within a limit of 16 whole, so in every chunking.
    expectStream(
      'data: 0123456789\ndata: 01234\n\n',
      { events: [message('0123456789\n01234')] },
      {
        maxEventSize: 16,
      },
    );
    expectStream('data: 1234\ndata: 5\n\n', { events: [message('1234\n5')] }, { maxEventSize: 10 });
  });

  test('the limit counts UTF-16 code units', () => {
    expectStream('data: 😀\n\n', { events: [message('😀')] }, { maxEventSize: 8 });
    expectStream(
      'data: 😀😀\n\ndata: ok\n\n',
      { events: [message('ok')], errors: ['event-too-large'] },
      { maxEventSize: 8 },
    );
  });

  test('several oversized events each give an error, the events between them get through', () => {
    expectStream(
      `data: ${long(30)}\n\ndata: a\n\ndata: ${long(30)}\n\ndata: b\n\n`,
      { events: [message('a'), message('b')], errors: ['event-too-large', 'event-too-large'] },
      { maxEventSize: 16 },
    );
  });

  test('without onError, feed() throws after processing the rest of the chunk', () => {
    const events: ServerSentEvent[] = [];
    const parser = createParser({ onEvent: (event) => events.push(event), maxEventSize: 16 });
    let thrown: unknown;
    try {
      parser.feed(`data: a\n\ndata: ${long(40)}\n\ndata: b\n\n`);
    } catch (error) {
      thrown = error;
    }
    expect(ParseError.isInstance(thrown)).toBe(true);
    expect(events).toStrictEqual([message('a'), message('b')]);
    parser.feed('data: c\n\n');
    expect(events).toStrictEqual([message('a'), message('b'), message('c')]);
  });

  test('without onError, a line cut over chunks throws from the feed that passes the limit', () => {
    const events: ServerSentEvent[] = [];
    const parser = createParser({ onEvent: (event) => events.push(event), maxEventSize: 16 });
    parser.feed('data: a\n\ndata: 0123');
    expect(() => parser.feed(`${long(20)}`)).toThrow(ParseError);
    expect(() => parser.feed(`${long(20)}\n\ndata: b\n\n`)).not.toThrow();
    expect(events).toStrictEqual([message('a'), message('b')]);
  });

  test('maxEventSize: Infinity disables the limit', () => {
    expectStream(
      `data: ${long(100_000)}\n\n`,
      { events: [message(long(100_000))] },
      { maxEventSize: Number.POSITIVE_INFINITY, everySplit: false },
    );
  });

  test('the default limit is DEFAULT_MAX_EVENT_SIZE (16 Mi code units)', () => {
    expect(DEFAULT_MAX_EVENT_SIZE).toBe(16 * 1024 * 1024);
    const fits = `data: ${long(DEFAULT_MAX_EVENT_SIZE - 6)}\n\n`;
    const tooLong = `data: ${long(DEFAULT_MAX_EVENT_SIZE - 5)}\n\n`;
    const events: ServerSentEvent[] = [];
    const errors: ParseError[] = [];
    const parser = createParser({
      onEvent: (event) => events.push(event),
      onError: (error) => errors.push(error),
    });
    parser.feed(fits);
    parser.feed(tooLong);
    expect(events.map((event) => event.data.length)).toStrictEqual([DEFAULT_MAX_EVENT_SIZE - 6]);
    expect(errors.map((error) => error.limit)).toStrictEqual([DEFAULT_MAX_EVENT_SIZE]);
  });

  test.each([0, -1, Number.NaN, Number.NEGATIVE_INFINITY])(
    'maxEventSize %s throws a TypeError',
    (maxEventSize) => {
      expect(() => createParser({ onEvent: () => {}, maxEventSize })).toThrow(TypeError);
      expect(() => createParser({ onEvent: () => {}, maxEventSize })).toThrow(/maxEventSize/);
    },
  );

  test('a missing onEvent throws a TypeError', () => {
    expect(() => createParser({} as ParserOptions)).toThrow(TypeError);
  });
});

describe('linear time', () => {
  test('one 100 MB line fed in 64 KB chunks gives one event of the right length', () => {
    const chunkSize = 64 * 1024;
    const chunkCount = 1600; // 1600 * 64 KiB = 100 MiB
    const piece = new Uint8Array(chunkSize).fill(0x61); // "a"
    let event: ServerSentEvent | undefined;
    let count = 0;
    const parser = createParser({
      onEvent: (received) => {
        event = received;
        count++;
      },
      maxEventSize: Number.POSITIVE_INFINITY,
    });
    parser.feed(bytesOf('data: '));
    for (let index = 0; index < chunkCount; index++) parser.feed(piece);
    parser.feed(bytesOf('\n\n'));
    expect(count).toBe(1);
    expect(event?.data.length).toBe(chunkSize * chunkCount);
    expect(event?.data.startsWith('aaaa')).toBe(true);
    expect(event?.data.endsWith('aaaa')).toBe(true);
  }, 60_000);

  test('many short events in one big chunk', () => {
    const count = 200_000;
    const text = 'data: x\n\n'.repeat(count);
    let seen = 0;
    const parser = createParser({ onEvent: () => seen++ });
    parser.feed(bytesOf(text));
    expect(seen).toBe(count);
  }, 60_000);
});

describe('fast paths give the same events', () => {
  test('a chunk of several 32 KiB pieces: lines and multibyte characters across the cuts', () => {
    // 32 KiB pieces: a data line, and 2-, 3- and 4-byte characters, cross each piece boundary.
    const filler = 'x'.repeat(32 * 1024 - 10);
    const text = `data: ${filler}é中😀\n\ndata: ${filler}😀中é\n\nevent: end\ndata: 中\n\n`;
    expectStream(
      text,
      {
        events: [message(`${filler}é中😀`), message(`${filler}😀中é`), typed('end', '中')],
      },
      { everySplit: false },
    );
  });

  test('CRLF events with event and id fields, and blank lines right behind other lines', () => {
    expectStream(
      'event: update\r\nid: 1\r\ndata: a\r\n\r\n: ping\r\n\r\nevent:x\nid:2\ndata:b\n\n\r\r\n',
      { events: [typed('update', 'a', '1'), typed('x', 'b', '2')], comments: ['ping'] },
    );
    expectStream('data: a\r\r\ndata: b\n\r\nevent: e\r\r', {
      events: [message('a'), message('b')],
    });
  });

  test('ASCII events, then mixed text, then ASCII again (decoder switches)', () => {
    const ascii = Array.from({ length: 50 }, (_, index) => `data: token ${index}\n\n`).join('');
    const mixed = Array.from({ length: 50 }, (_, index) => `data: tök ${index} 中\n\n`).join('');
    const events = [ascii, mixed, ascii].flatMap((part) =>
      part
        .split('\n\n')
        .filter(Boolean)
        .map((block) => message(block.slice('data: '.length))),
    );
    expectStream(`${ascii}${mixed}${ascii}`, { events }, { everySplit: false });
  });

  test('string chunks of every kind (flat, concatenated, sliced, two-byte, one character)', () => {
    const events: ServerSentEvent[] = [];
    const parser = createParser({ onEvent: (event) => events.push({ ...event }) });
    const twoByte = 'data: 中文\n\n';
    const parts = ['data: con', 'catenated ', 'string\n\n', 'data: more'];
    let concatenated = '';
    for (const part of parts) concatenated += part; // a cons string, as += builds it
    parser.feed(concatenated);
    parser.feed('\n');
    parser.feed('\n');
    parser.feed('xxdata: sliced\n\nxx'.slice(2, -2));
    parser.feed(twoByte);
    parser.feed(bytesOf('data: bytes\n\n'));
    parser.feed(String.fromCharCode(100, 97, 116, 97, 58, 32, 0x4e2d, 10, 10));
    parser.end();
    expect(events).toStrictEqual([
      message('concatenated string'),
      message('more'),
      message('sliced'),
      message('中文'),
      message('bytes'),
      message('中'),
    ]);
  });

  test('parsers made and dropped one after another all parse alike', () => {
    const stream = bytesOf('id: 1\ndata: é\n\nevent: x\ndata: two\ndata: lines\n\n');
    const expected = [message('é', '1'), typed('x', 'two\nlines', '1')];
    for (let round = 0; round < 30; round++) {
      const events: ServerSentEvent[] = [];
      const parser = createParser({ onEvent: (event) => events.push({ ...event }) });
      for (const chunk of byteByByte(stream)) parser.feed(chunk);
      parser.end();
      expect(events).toStrictEqual(expected);
      (globalThis as { gc?: () => void }).gc?.();
    }
  });
});
