import { expect, test } from 'vitest';
import {
  colorEnabled,
  createPaint,
  describeError,
  formatJsonLine,
  formatPretty,
} from '../../src/cli/format.ts';

test.each([
  [true, {}, true],
  [false, {}, false],
  [true, { TERM: 'dumb' }, false],
  [true, { NO_COLOR: '1' }, false],
  [true, { NO_COLOR: '' }, true], // no-color.org: only a non-empty value counts
  [false, { FORCE_COLOR: '1' }, true],
  [false, { FORCE_COLOR: '' }, true],
  [true, { FORCE_COLOR: '0' }, false],
  [true, { FORCE_COLOR: 'false' }, false],
  [false, { FORCE_COLOR: '3', NO_COLOR: '1' }, true], // FORCE_COLOR wins, as in Node
])('colour on a TTY=%s with %j: %s', (isTTY, env, expected) => {
  expect(colorEnabled(isTTY, env)).toBe(expected);
});

test('pretty: no id when the id is empty, no data line when the data is empty', () => {
  const plain = { paint: createPaint(false), terminal: false };
  expect(formatPretty({ type: 'ping', data: '', id: '' }, plain)).toBe('ping\n\n');
  // Off a terminal the data is left exactly as sent, control characters included.
  expect(formatPretty({ type: 'x', data: '{"a":\t1}\x07', id: '9' }, plain)).toBe(
    'x  id: 9\n{"a":\t1}\x07\n\n',
  );
});

test('pretty on a terminal: JSON scalars and invalid JSON stay as sent; escapes C1 controls', () => {
  const terminal = { paint: createPaint(false), terminal: true };
  expect(formatPretty({ type: 'n', data: '42', id: '' }, terminal)).toBe('n\n42\n\n');
  expect(formatPretty({ type: 'n', data: '{"a":', id: '' }, terminal)).toBe('n\n{"a":\n\n');
  expect(formatPretty({ type: 'n', data: '{}', id: '\x9b1m' }, terminal)).toBe(
    'n  id: \\x9b1m\n{}\n\n',
  );
  expect(formatPretty({ type: 'n', data: '{"k":"\x9b","e":[]}', id: '' }, terminal)).toBe(
    'n\n{\n  "k": "\\x9b",\n  "e": []\n}\n\n',
  );
});

test('json lines: `json` only when the data is JSON, including scalars', () => {
  expect(formatJsonLine({ type: 'message', data: '[DONE]', id: '' })).toBe(
    '{"type":"message","id":"","data":"[DONE]"}\n',
  );
  expect(formatJsonLine({ type: 'message', data: '0', id: '' })).toBe(
    '{"type":"message","id":"","data":"0","json":0}\n',
  );
  expect(formatJsonLine({ type: 'message', data: 'a\u2028b', id: '' })).toBe(
    '{"type":"message","id":"","data":"a\u2028b"}\n',
  );
});

test('errors are described with their cause', () => {
  const error = new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED') });
  expect(describeError(error)).toBe('fetch failed (connect ECONNREFUSED)');
  expect(describeError(new Error('a: b', { cause: new Error('b') }))).toBe('a: b');
  expect(describeError('plain')).toBe('plain');
});
