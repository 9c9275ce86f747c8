/**
 * `EventStreamDecoder`: the parser as a `TransformStream` from bytes (or text) to events.
 */
import { describe, expect, test } from 'vitest';
import {
  EventStreamDecoder,
  encodeEvent,
  ParseError,
  type ServerSentEvent,
  SsekitError,
} from '../../src/index.ts';
import {
  byteByByte,
  bytesOf,
  randomSplits,
  readAll,
  readSettled,
  streamOf,
} from '../helpers/chunking.ts';

const message = (data: string, id = ''): ServerSentEvent => ({ type: 'message', data, id });

const STREAM = bytesOf(
  [0xef, 0xbb, 0xbf],
  ': hello\r\n',
  'retry: 2500\n',
  'event: token\nid: 1\ndata: é€\ndata: 😀\n\n',
  'data: second\r\rid: 2\rdata: third\r\n\r\n',
  ': bye\n',
  'data: cut off at the end',
);
const STREAM_EVENTS: ServerSentEvent[] = [
  { type: 'token', data: 'é€\n😀', id: '1' },
  message('second', '1'),
  message('third', '2'),
];

function decode(chunks: readonly (Uint8Array | string)[], decoder = new EventStreamDecoder()) {
  return readAll(streamOf(chunks).pipeThrough(decoder));
}

describe('EventStreamDecoder', () => {
  test.each([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])('random byte chunks (seed %i)', async (seed) => {
    const events = await decode(randomSplits(STREAM, seed, 1 + (seed % 7)));
    expect(events).toStrictEqual(STREAM_EVENTS);
  });

  test('whole and byte by byte', async () => {
    expect(await decode([STREAM])).toStrictEqual(STREAM_EVENTS);
    expect(await decode(byteByByte(STREAM))).toStrictEqual(STREAM_EVENTS);
  });

  test('text chunks', async () => {
    const text = new TextDecoder().decode(STREAM); // the default decoder strips the BOM
    const chunks = [text.slice(0, 5), text.slice(5, 40), text.slice(40)];
    expect(await decode(chunks)).toStrictEqual(STREAM_EVENTS);
  });

  test('onRetry, onComment and lastEventId options', async () => {
    const retries: number[] = [];
    const comments: string[] = [];
    const events = await decode(
      randomSplits(bytesOf('retry: 10\n: one\ndata: a\n\n:two\nretry: x\nretry: 20\n\n'), 3),
      new EventStreamDecoder({
        onRetry: (retry) => retries.push(retry),
        onComment: (comment) => comments.push(comment),
        lastEventId: 'seed',
      }),
    );
    expect(events).toStrictEqual([message('a', 'seed')]);
    expect(retries).toStrictEqual([10, 20]);
    expect(comments).toStrictEqual(['one', 'two']);
  });

  test('an incomplete last event is discarded when the stream closes', async () => {
    expect(await decode([bytesOf('data: a\n\ndata: b\n')])).toStrictEqual([message('a')]);
    expect(await decode([bytesOf('data: a\n\ndata: b')])).toStrictEqual([message('a')]);
  });

  test('an empty stream gives no events', async () => {
    expect(await decode([])).toStrictEqual([]);
    expect(await decode([new Uint8Array(0), ''])).toStrictEqual([]);
  });

  test('encodeEvent output decodes back', async () => {
    const text = [
      encodeEvent({ event: 'a', id: '1', data: 'x\ny' }),
      encodeEvent({ data: '' }),
      encodeEvent({ id: '' }),
      encodeEvent({ data: 'z' }),
    ].join('');
    expect(await decode(randomSplits(bytesOf(text), 11))).toStrictEqual([
      { type: 'a', data: 'x\ny', id: '1' },
      message('', '1'),
      message('z', ''),
    ]);
  });

  test('each decoder has its own state', async () => {
    const first = decode([bytesOf('id: 1\ndata: a\n\ndata: half')]);
    const second = decode([bytesOf('\n\ndata: b\n\n')]);
    expect(await first).toStrictEqual([message('a', '1')]);
    expect(await second).toStrictEqual([message('b')]);
  });

  test('the options type leaves out onEvent and onError', () => {
    // @ts-expect-error onEvent is the stream's own
    new EventStreamDecoder({ onEvent: () => {} });
    // @ts-expect-error a ParseError errors the stream instead
    new EventStreamDecoder({ onError: () => {} });
  });
});

describe('EventStreamDecoder errors', () => {
  const long = 'x'.repeat(100);

  function expectParseError(error: unknown): void {
    expect(ParseError.isInstance(error)).toBe(true);
    expect(SsekitError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: 'event-too-large', limit: 32 });
  }

  test('a ParseError errors the stream after the events of earlier chunks', async () => {
    const chunks = [
      bytesOf('data: a\n\n'),
      bytesOf('data: b\n\n'),
      bytesOf(`data: ${long}\n\n`),
      bytesOf('data: c\n\n'),
    ];
    const { values, error } = await readSettled(
      streamOf(chunks).pipeThrough(new EventStreamDecoder({ maxEventSize: 32 })),
    );
    expect(values).toStrictEqual([message('a'), message('b')]);
    expectParseError(error);
  });

  test('a ParseError errors the stream after the earlier events of the same chunk', async () => {
    const chunk = bytesOf(`data: a\n\ndata: b\n\ndata: c\n\ndata: ${long}\n\ndata: d\n\n`);
    const { values, error } = await readSettled(
      streamOf([chunk]).pipeThrough(new EventStreamDecoder({ maxEventSize: 32 })),
    );
    expect(values).toStrictEqual([message('a'), message('b'), message('c')]);
    expectParseError(error);
  });

  test('an oversized line cut over many chunks errors the stream', async () => {
    const chunks = [
      bytesOf('data: a\n\ndata: '),
      ...Array.from({ length: 10 }, () => bytesOf(long)),
    ];
    const { values, error } = await readSettled(
      streamOf(chunks).pipeThrough(new EventStreamDecoder({ maxEventSize: 32 })),
    );
    expect(values).toStrictEqual([message('a')]);
    expectParseError(error);
  });

  test('an error of the source reaches the reader', async () => {
    const reason = new Error('connection reset');
    let sent = false;
    const source = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent) {
          controller.error(reason);
          return;
        }
        sent = true;
        controller.enqueue(bytesOf('data: a\n\ndata: partial'));
      },
    });
    const { values, error } = await readSettled(source.pipeThrough(new EventStreamDecoder()));
    expect(values).toStrictEqual([message('a')]);
    expect(error).toBe(reason);
  });
});
