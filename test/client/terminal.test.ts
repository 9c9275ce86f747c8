/**
 * The terminal rules of the known formats (src/_internal/terminal.ts, shared by the client and the
 * relay), event by event, and where a body ends (src/client/_stream-end.ts).
 */
import { describe, expect, test } from 'vitest';
import { terminalOf } from '../../src/_internal/terminal.ts';
import { endsInsideEvent } from '../../src/client/_stream-end.ts';
import { defaultTerminal } from '../../src/client/index.ts';
import { ServerError } from '../../src/index.ts';

const event = (type: string, data: string) => ({ type, data, id: 'i' });

describe('terminalOf', () => {
  test.each([
    ['message', '[DONE]', { kind: 'end', deliver: false }],
    ['message', ' [DONE] ', { kind: 'end', deliver: false }],
    ['done', '{"usage":1}', { kind: 'end', deliver: false }],
    ['message_stop', '{"type": "message_stop"}', { kind: 'end', deliver: true }],
    ['response.completed', '{"type":"response.completed"}', { kind: 'end', deliver: true }],
    ['response.incomplete', '{"type":"response.incomplete"}', { kind: 'end', deliver: true }],
    ['message', '{"type":"finish"}', { kind: 'end', deliver: true }],
    ['message', '{"type":"response.completed","response":{}}', { kind: 'end', deliver: true }],
    ['message', '{"type":"message_stop"}', { kind: 'end', deliver: true }],
    [
      'message',
      '{"candidates": [{"content": {"parts": [{"text": "."}]},"finishReason": "STOP","index": 0}]}',
      { kind: 'end', deliver: true },
    ],
  ])('%s %s ends the stream', (type, data, expected) => {
    expect(terminalOf(event(type, data))).toEqual(expected);
  });

  test.each([
    ['message', 'DONE'],
    ['message', '{"choices":[{"delta":{},"finish_reason":"stop"}]}'],
    // Chat-completion chunks (first key `id`), the last one and OpenRouter's mid-stream error
    // chunk (it carries `choices`) included: the stream goes on to `[DONE]` or its end.
    [
      'message',
      '{"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}',
    ],
    [
      'message',
      '{"id":"gen-1","object":"chat.completion.chunk","error":{"code":502,"message":"Upstream"},"choices":[{"index":0,"delta":{"content":""},"finish_reason":"error"}]}',
    ],
    ['message', '{"type":"finish-step"}'],
    ['message', '{"candidates": [{"content": {"parts": [{"text": "a"}]},"index": 0}]}'],
    ['message', '{"candidates": [{"finishReason": "STOP"},{"index": 1}]}'],
    ['message', '{"text":"the word \\"error\\" in a token"}'],
    ['message_delta', '{"type": "message_delta", "delta": {"stop_reason": "end_turn"}}'],
    ['ping', '{"type": "ping"}'],
    ['response.output_text.done', '{"type":"response.output_text.done","text":"x"}'],
    ['token', '{"error":{"message":"not a message event"}}'],
    ['message', ' {"type":"finish"}'],
    ['message', '{"type":"done"}'],
    ['finish', '{"type":"finish"}'],
    ['message', '[{"error":{"message":"x"}}]'],
    ['message', '{"choices":[],"error":{"message":"x"}}'],
    ['message', '{"candidates":[]}'],
    ['message', '{"type":"constructor","error":1}'],
    ['constructor', '{}'],
  ])('%s %s does not', (type, data) => {
    expect(terminalOf(event(type, data))).toBeUndefined();
  });

  test.each([
    [
      'error',
      '{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}',
      { label: 'Overloaded (overloaded_error)', type: 'overloaded_error', retryable: true },
    ],
    [
      'error',
      '{"type":"error","error":{"type":"rate_limit_error","message":"Slow down"}}',
      { label: 'Slow down (rate_limit_error)', type: 'rate_limit_error', retryable: true },
    ],
    [
      'error',
      '{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}',
      { label: 'invalid x-api-key (authentication_error)', retryable: false },
    ],
    [
      'error',
      '{"message":"Quota exceeded","code":"quota-exceeded"}',
      { label: 'Quota exceeded', type: 'quota-exceeded', retryable: false },
    ],
    ['error', 'plain text', { label: 'plain text', type: undefined, retryable: false }],
    ['error', '4.0', { label: '4.0', data: 4 }],
    ['error', '"quoted"', { label: 'quoted', data: 'quoted' }],
    ['error', '[1, 2]', { label: '[1, 2]', data: [1, 2] }],
    [
      'message',
      '{"type":"error","errorText":"Tool failed"}',
      { label: 'Tool failed', type: undefined, retryable: false },
    ],
    [
      'message',
      '{"type":"error","code":"server_error","message":"boom"}',
      { label: 'boom (server_error)', type: 'server_error', retryable: true },
    ],
    [
      'response.failed',
      '{"type":"response.failed","response":{}}',
      { label: 'The response failed', type: undefined, retryable: false },
    ],
    [
      'response.failed',
      '{"type":"response.failed","response":{"error":{"code":"server_error","message":"m"}}}',
      { label: 'm (server_error)', type: 'server_error', retryable: true },
    ],
    [
      'message',
      '{"error":{"code":503,"message":"The model is overloaded."}}',
      { label: 'The model is overloaded. (503)', type: '503', retryable: true },
    ],
    ['error', '{"error":{"type":"overloaded_error"}}', { label: 'overloaded_error', message: '' }],
    ['error', '', { label: '', type: undefined }],
    [
      'message',
      '{"error": {"code": 429, "message": "Resource has been exhausted", "status": "RESOURCE_EXHAUSTED"}}',
      { label: 'Resource has been exhausted (RESOURCE_EXHAUSTED)', retryable: true },
    ],
    [
      'message',
      '{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}',
      { label: 'Rate limit reached (requests)', type: 'requests' },
    ],
  ])('%s %s is an error', (type, data, expected) => {
    const terminal = terminalOf(event(type, data));
    expect(terminal?.kind).toBe('error');
    expect(terminal?.kind === 'error' && terminal.error).toMatchObject(expected);
  });
});

test('defaultTerminal turns an error into a ServerError with the event id', () => {
  const verdict = defaultTerminal(
    event('error', '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'),
  ) as { error: ServerError; deliver: boolean };
  expect(verdict.deliver).toBe(false);
  expect(ServerError.isInstance(verdict.error)).toBe(true);
  expect(verdict.error).toMatchObject({
    message: 'Overloaded (overloaded_error)',
    id: 'i',
    type: 'overloaded_error',
    retryable: true,
  });
  expect(defaultTerminal(event('message', 'hi'))).toBeUndefined();
  expect((defaultTerminal(event('error', '')) as { error: ServerError }).error.message).toBe(
    'The server reported an error',
  );
});

describe('endsInsideEvent', () => {
  const bytes = (text: string) => new TextEncoder().encode(text);
  const whole = (text: string) => endsInsideEvent(undefined, bytes(text), true);

  test.each([
    ['', false],
    ['data: a\n\n', false],
    ['data: a\r\n\r\n', false],
    ['data: a\r\r', false],
    ['data: a\n\n: bye\n', false],
    [': only a comment\n', false],
    ['\ufeff: bom and a comment\n', false],
    ['data: a\n\nretry: 5\n\n', false],
    ['data: a\n\ndata: b', true],
    ['data: a\n\ndata: b\n', true],
    ['data: a\n\nid: 2\r\n', true],
    ['data: a\n\nretry: 5\n', true],
    ['data: a\n\n: c\ndata: b\n: c\n', true],
    ['\ufeff\n', false],
    ['\ufeff', true],
    ['data: a\n\n: a comment with \u2028 in it\n', false],
    ['data: a\n\nevent: x\n', true],
    ['data: é\n\n', false],
    ['data: \u00e9', true],
  ])('%j: %s', (text, expected) => {
    expect(text === '' ? endsInsideEvent(undefined, undefined, true) : whole(text)).toBe(expected);
  });

  test('lines split across the last two chunks', () => {
    expect(endsInsideEvent(bytes('data: a\n'), bytes('\n'), true)).toBe(false);
    expect(endsInsideEvent(bytes('data: a\n\ndata: '), bytes('b\n'), true)).toBe(true);
    // A long comment-only tail whose start is not kept: assumed to end at a boundary.
    expect(endsInsideEvent(bytes(': c\n'), bytes(': d\n'), false)).toBe(false);
    // A CRLF split between the two chunks is one line end; a blank line follows.
    expect(endsInsideEvent(bytes('data: a\r'), bytes('\n\r\n'), true)).toBe(false);
    expect(endsInsideEvent(bytes('data: a\r'), bytes('\n'), true)).toBe(true);
    // A multi-byte character split between the two chunks.
    const split = bytes('data: é\n\n');
    expect(endsInsideEvent(split.subarray(0, 7), split.subarray(7), true)).toBe(false);
    // The line that began before the kept chunks is assumed complete; a field after it is not.
    expect(endsInsideEvent(bytes('ta: long\n'), bytes('\n'), false)).toBe(false);
    expect(endsInsideEvent(bytes('ta: long\n'), bytes('id: 3\n'), false)).toBe(true);
  });
});
