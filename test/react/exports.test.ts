/**
 * The public surface of ssekit/react: its export names, and the types of its key signatures.
 */
import { expect, expectTypeOf, test } from 'vitest';
import type {
  EventStreamStatus,
  UseEventStreamOptions,
  UseEventStreamResult,
} from '../../src/react/index.ts';
import * as react from '../../src/react/index.ts';

test('export names', () => {
  expect(Object.keys(react).sort()).toEqual([
    'defaultToText',
    'useContractStream',
    'useEventStream',
  ]);
});

test('signatures', () => {
  expectTypeOf(react.useEventStream).parameters.toEqualTypeOf<
    [url: string | URL, options?: UseEventStreamOptions]
  >();
  expectTypeOf(react.useEventStream).returns.toEqualTypeOf<UseEventStreamResult>();
  expectTypeOf<UseEventStreamResult['status']>().toEqualTypeOf<EventStreamStatus>();
  expectTypeOf<UseEventStreamResult['start']>().toEqualTypeOf<(body?: unknown) => void>();
  expectTypeOf<EventStreamStatus>().toEqualTypeOf<
    'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed' | 'error'
  >();
});

test('defaultToText: text sent as text arrives as sent; known JSON shapes are unwrapped', () => {
  const text = (type: string, data: string) => react.defaultToText({ type, data, id: '' });
  // Plain tokens, exactly as sent, even when they look like JSON.
  expect(text('token', 'He said "yes" and')).toBe('He said "yes" and');
  expect(text('token', '"yes" ')).toBe('"yes" ');
  expect(text('token', '{} ')).toBe('{} ');
  expect(text('message', '"quoted"')).toBe('"quoted"');
  expect(text('message', '42')).toBe('42');
  expect(text('token', 'plain ')).toBe('plain ');
  expect(text('token', '{not json')).toBe('{not json');
  expect(text('message', '{"phase":"a"}')).toBe('{"phase":"a"}');
  // A JSON object with a known text field.
  expect(text('token', '{"text":"Hel"}')).toBe('Hel');
  expect(text('message', '{"delta":"lo"}')).toBe('lo');
  expect(text('message', '{"choices":[{"delta":{"content":"!"}}]}')).toBe('!');
  expect(text('message', '{"choices":[{"delta":{},"finish_reason":"stop"}]}')).toBe('');
  expect(text('message', '{"choices":[]}')).toBe('');
  expect(text('message', '{"type":"text-delta","id":"0","delta":"AI"}')).toBe('AI');
  expect(text('message', '{"type":"start","messageId":"m"}')).toBe('');
  expect(
    text(
      'content_block_delta',
      '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}',
    ),
  ).toBe('Hi');
  expect(
    text('response.output_text.delta', '{"type":"response.output_text.delta","delta":"Yo"}'),
  ).toBe('Yo');
  expect(
    text('message', '{"candidates":[{"content":{"parts":[{"text":"Ge"},{"text":"mini"}]}}]}'),
  ).toBe('Gemini');
  expect(
    text(
      'message',
      '{"candidates":[{"content":{"parts":[{"text":"hmm","thought":true},{"text":"Ok"}]}}]}',
    ),
  ).toBe('Ok');
  expect(text('message', '{"candidates":[{"content":{}}]}')).toBe('');
  expect(
    text(
      'content_block_delta',
      '{"type":"content_block_delta","delta":{"type":"input_json_delta"}}',
    ),
  ).toBe('');
  expect(text('message', '{"choices":[{"text":"legacy"}]}')).toBe('legacy');
  expect(text('message', '{"type":"text-delta","delta":7}')).toBe('');
  expect(text('message', '{"type":"custom","text":"own"}')).toBe('own');
  expect(text('message', '{"type":"custom","n":1}')).toBe('{"type":"custom","n":1}');
  expect(text('message', '{"type":"response.created"}')).toBe('');
  expect(text('token', '{"type":"tool-input-start"}')).toBe('');
  // Other events add no text.
  expect(text('progress', '{"phase":"a"}')).toBeUndefined();
  expect(text('progress', 'plain')).toBeUndefined();
  expect(text('message_start', '{"type":"message_start","message":{}}')).toBe('');
});
