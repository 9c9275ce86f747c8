/**
 * The client against real Python servers, written the way Flask and FastAPI apps write event
 * streams (test/frameworks/python/*.py): Flask's generator Response on Werkzeug, FastAPI's
 * StreamingResponse on uvicorn. Python and the frameworks come from Debian (python3-flask,
 * python3-fastapi, python3-uvicorn; .ci/setup installs them). What is proven: a POST whose
 * response ends cleanly is one request and a completed stream (never re-sent), every line shape a
 * hand-written server produces decodes as the spec says, a cut with ids resumes exactly once with
 * `Last-Event-ID` and the same body, and a cut without ids is a typed error after one request.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type FetchLike, fetchEventStream, type ServerSentEvent } from '../../src/client/index.ts';
import { StreamError } from '../../src/index.ts';
import { type Started, start } from './_workspace.ts';

const here = fileURLToPath(new URL('./python/', import.meta.url));
// Debian's interpreter holds the Debian packages (a pyenv or venv python3 on PATH may not).
const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const retry = { initialDelayMs: 5, maxDelayMs: 20 };
/**
 * Werkzeug cuts a failing stream by closing the socket without the last chunk (`0\r\n\r\n`).
 * Node 20's built-in fetch (undici 6.24) reports that truncated body as a clean end (undici fixed it
 * in 6.25 / 7.x: "Invalid EOF state"), so no client on that fetch can tell the cut from the end.
 * The cut cases use the fixed undici from npm, as docs/client.md advises for Node 20.
 */
const cutAwareFetch = undiciFetch as unknown as FetchLike;

async function collect(
  iterable: AsyncIterable<ServerSentEvent>,
): Promise<{ events: ServerSentEvent[]; error: unknown }> {
  const events: ServerSentEvent[] = [];
  try {
    for await (const event of iterable) events.push(event);
    return { events, error: undefined };
  } catch (error) {
    return { events, error };
  }
}

const TOKENS = ['Hello', ', ', 'wörld', ' 👋', '!'];

describe.each([
  { name: 'Flask (Werkzeug)', file: 'flask_app.py', done: undefined },
  {
    name: 'FastAPI (uvicorn)',
    file: 'fastapi_app.py',
    done: { type: 'message', data: '[DONE]', id: '' },
  },
])('$name', ({ file, done }) => {
  let server: Started;
  let url: string;
  beforeAll(async () => {
    server = start(python, [`${here}${file}`], here);
    url = (await server.waitFor(/listening on (\S+)/, 30_000))[1]!;
  });
  afterAll(() => server?.stop());

  const seen = async (path: string) =>
    ((await (await fetch(`${url}/requests`)).json()) as { path: string }[]).filter(
      (entry) => entry.path === path,
    );

  test('a POST whose response ends cleanly: every token once, one request, completed', async () => {
    const closes: unknown[] = [];
    const { events, error } = await collect(
      fetchEventStream(`${url}/chat`, {
        json: { messages: [{ role: 'user', content: 'hi' }] },
        retry,
        onClose: (info) => closes.push(info),
      }),
    );
    expect(error).toBeUndefined();
    expect(events.map((event) => JSON.parse(event.data).token)).toEqual(TOKENS);
    expect(events.every((event) => event.type === 'message' && event.id === '')).toBe(true);
    // `data: [DONE]` (FastAPI's stream) ends it too, and is not an event of the answer.
    expect(closes).toEqual([done ? { reason: 'done', event: done } : { reason: 'done' }]);
    expect(await seen('/chat')).toEqual([
      { path: '/chat', body: { messages: [{ role: 'user', content: 'hi' }] } },
    ]);
  });

  test('a cut with ids resumes once, with Last-Event-ID and the same body: every part once', async () => {
    const { events, error } = await collect(
      fetchEventStream(`${url}/resumable`, {
        json: { q: 'resume me' },
        retry,
        fetch: cutAwareFetch,
      }),
    );
    expect(error).toBeUndefined();
    expect(events).toEqual(
      [1, 2, 3, 4, 5].map((index) => ({
        type: 'message',
        data: `part ${index}`,
        id: String(index),
      })),
    );
    expect(await seen('/resumable')).toEqual([
      { path: '/resumable', last_event_id: null, body: { q: 'resume me' } },
      { path: '/resumable', last_event_id: '2', body: { q: 'resume me' } },
    ]);
  });

  test('a cut without ids is a typed error after one request: the POST is never re-sent', async () => {
    const { events, error } = await collect(
      fetchEventStream(`${url}/cut`, { json: {}, retry, fetch: cutAwareFetch }),
    );
    expect(events.map((event) => event.data)).toEqual(['one', 'two']);
    expect(StreamError.isInstance(error)).toBe(true);
    expect((error as StreamError).code).toBe('stream-cut');
    expect(await seen('/cut')).toHaveLength(1);
  });
});

test('Flask: every line shape a hand-written server writes decodes as the spec says', async () => {
  const server = start(python, [`${here}flask_app.py`], here);
  try {
    const url = (await server.waitFor(/listening on (\S+)/, 30_000))[1]!;
    for (const method of ['GET', 'POST'] as const) {
      const closes: unknown[] = [];
      const { events, error } = await collect(
        fetchEventStream(`${url}/shapes`, { method, retry, onClose: (info) => closes.push(info) }),
      );
      expect(error).toBeUndefined();
      expect(events).toEqual([
        { type: 'status', data: 'starting', id: '' },
        { type: 'message', data: 'no space after the colon', id: '' },
        { type: 'message', data: 'line one\nline two', id: '' },
        { type: 'message', data: 'crlf', id: '' },
        { type: 'message', data: 'with an id', id: '7' },
        { type: 'message', data: '', id: '7' },
      ]);
      // `event: done` is the default terminal event: it ends the stream and is reported, not
      // yielded; the `retry: 2500` earlier in the response does not turn that end into a reconnect.
      expect(closes).toEqual([{ reason: 'done', event: { type: 'done', data: '{}', id: '7' } }]);
    }
  } finally {
    await server.stop();
  }
});
