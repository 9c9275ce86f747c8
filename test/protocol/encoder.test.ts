/**
 * `encodeEvent`, `encodeComment` and `EventStreamEncoder`: exact wire text, and a TypeError (never
 * silent stripping) for what cannot be encoded.
 *
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream
 */
import { describe, expect, test } from 'vitest';
import {
  createParser,
  type EventInput,
  EventStreamEncoder,
  encodeComment,
  encodeEvent,
  type ServerSentEvent,
} from '../../src/index.ts';
import { readAll, streamOf } from '../helpers/chunking.ts';

function parse(text: string): ServerSentEvent[] {
  const events: ServerSentEvent[] = [];
  const parser = createParser({ onEvent: (event) => events.push(event) });
  parser.feed(text);
  parser.end();
  return events;
}

describe('encodeEvent: wire text', () => {
  test.each<[string, EventInput, string]>([
    ['data only', { data: 'hello' }, 'data: hello\n\n'],
    ['event and data', { event: 'token', data: 'hi' }, 'event: token\ndata: hi\n\n'],
    ['id and data', { id: '7', data: 'hi' }, 'id: 7\ndata: hi\n\n'],
    ['retry and data', { retry: 1500, data: 'hi' }, 'retry: 1500\ndata: hi\n\n'],
    ['comment and data', { comment: 'note', data: 'hi' }, ': note\ndata: hi\n\n'],
    [
      'every field, in the order comment, event, id, retry, data',
      { data: 'd', retry: 10, id: 'i', event: 'e', comment: 'c' },
      ': c\nevent: e\nid: i\nretry: 10\ndata: d\n\n',
    ],
    ['event without data', { event: 'e' }, 'event: e\n\n'],
    ['id without data (moves the last event ID)', { id: '42' }, 'id: 42\n\n'],
    ['retry alone', { retry: 0 }, 'retry: 0\n\n'],
    ['comment alone', { comment: 'ping' }, ': ping\n\n'],
    ['nothing: just the blank line', {}, '\n'],
    ['empty data: a bare "data:" line', { data: '' }, 'data:\n\n'],
    ['empty event: a bare "event" line', { event: '', data: 'x' }, 'event\ndata: x\n\n'],
    ['empty id: a bare "id" line that resets it', { id: '', data: 'x' }, 'id\ndata: x\n\n'],
    ['empty comment', { comment: '' }, ':\n\n'],
    ['data with LF', { data: 'a\nb' }, 'data: a\ndata: b\n\n'],
    ['data with CR', { data: 'a\rb' }, 'data: a\ndata: b\n\n'],
    ['data with CRLF', { data: 'a\r\nb' }, 'data: a\ndata: b\n\n'],
    ['data with LF CR (two breaks)', { data: 'a\n\rb' }, 'data: a\ndata:\ndata: b\n\n'],
    ['data with a trailing LF', { data: 'a\n' }, 'data: a\ndata:\n\n'],
    ['data with a leading LF', { data: '\na' }, 'data:\ndata: a\n\n'],
    ['data that is one LF', { data: '\n' }, 'data:\ndata:\n\n'],
    ['data that is one CRLF', { data: '\r\n' }, 'data:\ndata:\n\n'],
    ['data with a blank line inside', { data: 'a\n\nb' }, 'data: a\ndata:\ndata: b\n\n'],
    ['data with a leading space (kept by the extra space)', { data: ' x' }, 'data:  x\n\n'],
    ['data with a colon', { data: 'a: b' }, 'data: a: b\n\n'],
    ['event with a leading space', { event: ' e', data: 'x' }, 'event:  e\ndata: x\n\n'],
    ['comment with line breaks', { comment: 'a\r\nb\nc' }, ': a\n: b\n: c\n\n'],
    ['NUL in data', { data: 'a\0b' }, 'data: a\0b\n\n'],
    ['multibyte text', { event: 'é', id: '€', data: '😀' }, 'event: é\nid: €\ndata: 😀\n\n'],
  ])('%s', (_name, input, wire) => {
    expect(encodeEvent(input)).toBe(wire);
  });

  test.each<[string, EventInput, ServerSentEvent[]]>([
    [
      'data with CR, LF and CRLF',
      { data: 'a\rb\nc\r\nd' },
      [{ type: 'message', data: 'a\nb\nc\nd', id: '' }],
    ],
    ['empty data', { data: '' }, [{ type: 'message', data: '', id: '' }]],
    ['empty event', { event: '', data: 'x' }, [{ type: 'message', data: 'x', id: '' }]],
    [
      'leading space',
      { data: '  x', event: ' e', id: ' i' },
      [{ type: ' e', data: '  x', id: ' i' }],
    ],
    ['trailing breaks', { data: 'x\n\n' }, [{ type: 'message', data: 'x\n\n', id: '' }]],
  ])('%s decodes back (LF for every break)', (_name, input, events) => {
    expect(parse(encodeEvent(input))).toStrictEqual(events);
  });
});

describe('encodeEvent: what cannot be encoded throws a TypeError', () => {
  test.each(['a\nb', 'a\rb', 'a\r\nb', '\n', 'x\r'])('event %j', (event) => {
    expect(() => encodeEvent({ event, data: 'x' })).toThrow(TypeError);
    expect(() => encodeEvent({ event, data: 'x' })).toThrow(/`event` must not contain CR or LF/);
  });

  test.each(['a\nb', 'a\rb', 'a\r\nb', '\n', 'x\r'])('id %j with a line break', (id) => {
    expect(() => encodeEvent({ id, data: 'x' })).toThrow(TypeError);
    expect(() => encodeEvent({ id, data: 'x' })).toThrow(/`id` must not contain CR, LF or NUL/);
  });

  test.each(['a\0b', '\0', 'x\0'])('id %j with NUL', (id) => {
    expect(() => encodeEvent({ id, data: 'x' })).toThrow(TypeError);
    expect(() => encodeEvent({ id, data: 'x' })).toThrow(/NUL/);
  });

  test('the message quotes the offending value', () => {
    expect(() => encodeEvent({ event: 'a\nb' })).toThrow('"a\\nb"');
  });

  test.each([1.5, -1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53])('retry %s', (retry) => {
    expect(() => encodeEvent({ retry })).toThrow(TypeError);
    expect(() => encodeEvent({ retry })).toThrow(/`retry` must be a non-negative integer/);
  });

  test.each([
    ['a number', 42],
    ['an object', { a: 1 }],
    ['null', null],
  ])('data that is %s', (_name, data) => {
    const input = { data } as unknown as EventInput;
    expect(() => encodeEvent(input)).toThrow(TypeError);
    expect(() => encodeEvent(input)).toThrow(/`data` must be a string/);
  });

  test('nothing is written when a field throws', () => {
    // The whole event is refused, so a caller never gets a half-written frame.
    expect(() => encodeEvent({ comment: 'c', event: 'e', id: 'a\nb', data: 'x' })).toThrow(
      TypeError,
    );
  });
});

describe('encodeComment', () => {
  test.each([
    ['a heartbeat', undefined, ':\n'],
    ['empty text', '', ':\n'],
    ['text', 'ping', ': ping\n'],
    ['text with line breaks', 'a\nb\r\nc\rd', ': a\n: b\n: c\n: d\n'],
    ['a trailing LF', 'a\n', ': a\n:\n'],
  ])('%s', (_name, text, wire) => {
    expect(text === undefined ? encodeComment() : encodeComment(text)).toBe(wire);
  });

  test('a comment never dispatches nor changes the next event', () => {
    const comments: string[] = [];
    const events: ServerSentEvent[] = [];
    const parser = createParser({
      onEvent: (event) => events.push(event),
      onComment: (comment) => comments.push(comment),
    });
    parser.feed(`${encodeComment('a\nb')}${encodeEvent({ data: 'x' })}`);
    expect(comments).toStrictEqual(['a', 'b']);
    expect(events).toStrictEqual([{ type: 'message', data: 'x', id: '' }]);
  });
});

describe('EventStreamEncoder', () => {
  test('produces the UTF-8 bytes of encodeEvent and passes strings through', async () => {
    const inputs: (EventInput | string)[] = [
      { event: 'é', id: '1', data: 'a€\nb😀' },
      ': raw comment\n\n',
      { data: '' },
      'data: raw ü\n\n',
      { retry: 5 },
    ];
    const chunks = await readAll(streamOf(inputs).pipeThrough(new EventStreamEncoder()));
    const encoder = new TextEncoder();
    expect(chunks).toHaveLength(inputs.length);
    chunks.forEach((chunk, index) => {
      const input = inputs[index]!;
      const text = typeof input === 'string' ? input : encodeEvent(input);
      expect(chunk).toBeInstanceOf(Uint8Array);
      expect(Array.from(chunk)).toStrictEqual(Array.from(encoder.encode(text)));
    });
  });

  test('lone surrogates become U+FFFD (EF BF BD), as TextEncoder does', async () => {
    const [chunk] = await readAll(
      streamOf<EventInput>([{ data: 'a\uD800b' }]).pipeThrough(new EventStreamEncoder()),
    );
    expect(Array.from(chunk!)).toStrictEqual(
      Array.from(new TextEncoder().encode('data: a\uFFFDb\n\n')),
    );
  });

  test('an event that cannot be encoded errors the stream with the TypeError', async () => {
    const stream = streamOf<EventInput>([{ data: 'ok' }, { id: 'a\nb', data: 'x' }]).pipeThrough(
      new EventStreamEncoder(),
    );
    await expect(readAll(stream)).rejects.toThrow(TypeError);
  });

  test('writable and readable sides work with a writer', async () => {
    const { readable, writable } = new EventStreamEncoder();
    const writer = writable.getWriter();
    const reading = readAll(readable);
    await writer.write({ event: 'token', data: 'Hello' });
    await writer.close();
    const bytes = await reading;
    expect(new TextDecoder().decode(bytes[0])).toBe('event: token\ndata: Hello\n\n');
  });
});
