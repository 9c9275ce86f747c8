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
  expect(Object.keys(react).sort()).toEqual(['defaultToText', 'useEventStream']);
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

test('defaultToText reads {text}, {delta}, OpenAI chunks and plain tokens', () => {
  const text = (type: string, data: string) => react.defaultToText({ type, data, id: '' });
  expect(text('token', '{"text":"Hel"}')).toBe('Hel');
  expect(text('message', '{"delta":"lo"}')).toBe('lo');
  expect(text('message', '{"choices":[{"delta":{"content":"!"}}]}')).toBe('!');
  expect(text('message', '"quoted"')).toBe('quoted');
  expect(text('token', 'plain ')).toBe('plain ');
  expect(text('token', '{not json')).toBe('{not json');
  expect(text('progress', '{"phase":"a"}')).toBeUndefined();
  expect(text('progress', 'plain')).toBeUndefined();
  expect(text('message', '{"choices":[]}')).toBeUndefined();
});
