/**
 * The error hierarchy as the client raises it (src/errors.ts, made smaller for the client's size
 * budget): `isInstance` through a `Symbol.for` marker that another copy of the package shares,
 * `name`, `code`, `cause` and each subclass's fields, unchanged.
 */
import { describe, expect, test } from 'vitest';
import {
  EngineError,
  HubError,
  ParseError,
  RequestError,
  ResponseError,
  ServerError,
  SsekitError,
  StreamError,
} from '../../src/index.ts';

const response = {
  status: 503,
  statusText: 'Service Unavailable',
  headers: new Headers({ 'retry-after': '1' }),
  body: 'down',
  method: 'POST',
  url: 'http://x/api',
};

const made = {
  SsekitError: new SsekitError('http-error', 'm'),
  ParseError: new ParseError('m', 10),
  ResponseError: new ResponseError('http-error', 'm', response),
  StreamError: new StreamError('stream-cut', 'm'),
  ServerError: new ServerError('m', { a: 1 }, '7', { type: 'overloaded_error', retryable: true }),
  RequestError: new RequestError('bad-request', 'm'),
  EngineError: new EngineError('m'),
  HubError: new HubError('run-expired', 'm'),
};
const classes = {
  SsekitError,
  ParseError,
  ResponseError,
  StreamError,
  ServerError,
  RequestError,
  EngineError,
  HubError,
};

describe('isInstance', () => {
  test.each(Object.entries(made))(
    '%s is itself and an SsekitError, no other class',
    (name, error) => {
      for (const [other, type] of Object.entries(classes)) {
        const expected = other === name || other === 'SsekitError';
        expect(type.isInstance(error), `${other}.isInstance(${name})`).toBe(expected);
        expect(error instanceof type, `${name} instanceof ${other}`).toBe(expected);
      }
      expect(error.name).toBe(name);
      expect(error).toBeInstanceOf(Error);
    },
  );

  test('works for an error of another copy of the package (the same Symbol.for markers)', () => {
    const copy = Object.assign(new Error('from a bundled copy'), { code: 'stream-cut' });
    for (const key of ['ssekit.error', 'ssekit.error.stream'])
      Object.defineProperty(copy, Symbol.for(key), { value: true });
    expect(SsekitError.isInstance(copy)).toBe(true);
    expect(StreamError.isInstance(copy)).toBe(true);
    expect(ServerError.isInstance(copy)).toBe(false);
  });

  test('is false for anything else, and works unbound', () => {
    const { isInstance } = StreamError;
    for (const value of [
      undefined,
      null,
      0,
      'stream-cut',
      {},
      new Error('x'),
      { code: 'stream-cut' },
    ])
      expect(isInstance(value)).toBe(false);
    expect([made.StreamError, made.ParseError].filter(SsekitError.isInstance)).toHaveLength(2);
  });

  test('markers are not enumerable: a copy of the fields is not an error', () => {
    expect(SsekitError.isInstance({ ...made.StreamError })).toBe(false);
    expect(Object.keys(made.StreamError)).toEqual(['code', 'name']);
  });
});

test('code, cause and the subclass fields', () => {
  const cause = new TypeError('fetch failed');
  expect(new StreamError('retry-limit', 'gave up', { cause })).toMatchObject({
    code: 'retry-limit',
    message: 'gave up',
    cause,
  });
  expect(Object.hasOwn(new StreamError('idle-timeout', 'm'), 'cause')).toBe(false);
  expect(made.ParseError).toMatchObject({ code: 'event-too-large', limit: 10 });
  expect(made.ResponseError).toMatchObject({ code: 'http-error', ...response });
  expect(made.ServerError).toMatchObject({
    code: 'server-error',
    data: { a: 1 },
    id: '7',
    type: 'overloaded_error',
    retryable: true,
  });
  expect(new ServerError('m', null, '')).toMatchObject({ type: undefined, retryable: false });
  expect(made.RequestError.status).toBe(400);
  expect(made.HubError.status).toBe(404);
  expect(new EngineError('m', { code: 'append-conflict' }).code).toBe('append-conflict');
  expect(JSON.parse(JSON.stringify(made.ResponseError))).toMatchObject({
    name: 'ResponseError',
    code: 'http-error',
    status: 503,
  });
});
