import { expect, test } from 'vitest';
import { createParser, encodeEvent } from '../../src/index.ts';

test('round trip of one event', () => {
  const events: unknown[] = [];
  const parser = createParser({ onEvent: (event) => events.push(event) });
  parser.feed(new TextEncoder().encode(encodeEvent({ event: 'token', id: '1', data: 'a\nb' })));
  expect(events).toEqual([{ type: 'token', data: 'a\nb', id: '1' }]);
});
