// @vitest-environment jsdom
/**
 * useEventStream against a real node:http server, rendered with React Testing Library in jsdom.
 */
import { act, configure, renderHook, waitFor } from '@testing-library/react';
import { useEffect } from 'react';
import { afterAll, beforeAll, expect, test } from 'vitest';
import {
  type EventStreamStatus,
  type UseEventStreamOptions,
  useEventStream,
} from '../../src/react/index.ts';
import { startServer, type TestServer } from '../helpers/http-server.ts';
import { startTokenServer } from './token-server.ts';

let server: TestServer;
const hits = new Map<string, number>();

beforeAll(async () => {
  // Updates arrive from network callbacks, outside act(): RTL's act environment would only add
  // warnings; waitFor polls the rendered result instead.
  (globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = false;
  configure({ asyncUtilTimeout: 10_000 }); // waitFor's 1 s default is tight for a busy CI machine
  server = await startServer(startTokenServer(hits));
});
afterAll(() => server?.close());

const url = (path: string) => `${server.url}${path}`;

function renderStream(path: string, options: UseEventStreamOptions = {}) {
  const statuses: EventStreamStatus[] = [];
  let renders = 0;
  const view = renderHook(
    (props: UseEventStreamOptions) => {
      renders++;
      const result = useEventStream(url(path), props);
      if (statuses.at(-1) !== result.status) statuses.push(result.status);
      return result;
    },
    { initialProps: options },
  );
  return { ...view, statuses, renders: () => renders };
}

test('streams tokens into text, with status idle → connecting → open → closed', async () => {
  const done: string[] = [];
  const view = renderStream('/tokens?n=50', { onDone: ({ text }) => done.push(text) });
  expect(view.result.current.status).toBe('idle');
  act(() => view.result.current.start());
  await waitFor(() => expect(view.result.current.status).toBe('closed'));
  const expected = Array.from({ length: 50 }, (_, index) => `t${index} `).join('');
  expect(view.result.current.text).toBe(expected);
  expect(done).toEqual([expected]);
  expect(view.statuses).toEqual(['idle', 'connecting', 'open', 'closed']);
  expect(view.result.current.lastEventId).toBe('50');
  expect(view.result.current.events).toHaveLength(50);
});

test('start(body) POSTs it as JSON; toText and maxEvents shape the state', async () => {
  const view = renderStream('/echo', {
    maxEvents: 2,
    toText: (event) => (event.type === 'echo' ? event.data.toUpperCase() : undefined),
  });
  act(() => view.result.current.start({ prompt: 'hi' }));
  await waitFor(() => expect(view.result.current.status).toBe('closed'));
  expect(view.result.current.text).toBe('POST {"PROMPT":"HI"}');
  expect(view.result.current.events.map((event) => event.type)).toEqual(['echo', 'extra']);
});

test('stop() aborts the request: the server sees the connection close', async () => {
  const view = renderStream('/slow');
  const aborts = server.aborts;
  act(() => view.result.current.start());
  await waitFor(() => expect(view.result.current.text.length).toBeGreaterThan(0));
  act(() => view.result.current.stop());
  expect(view.result.current.status).toBe('closed');
  await server.waitForAborts(aborts + 1);
  const text = view.result.current.text;
  await new Promise((resolve) => setTimeout(resolve, 60));
  expect(view.result.current.text).toBe(text);
});

test('unmounting aborts the request', async () => {
  const view = renderStream('/slow');
  const aborts = server.aborts;
  act(() => view.result.current.start());
  await waitFor(() => expect(view.result.current.status).toBe('open'));
  view.unmount();
  await server.waitForAborts(aborts + 1);
});

test('StrictMode double effects send exactly one request', async () => {
  hits.set('/tokens?n=3&strict', 0);
  // Counting fetch calls, not only requests at the server: a request aborted at once may never
  // reach the server, but it was still sent.
  let fetches = 0;
  const countingFetch: typeof fetch = (input, init) => {
    fetches++;
    return fetch(input, init);
  };
  const view = renderHook(
    () => {
      const stream = useEventStream(url('/tokens?n=3&strict'), { fetch: countingFetch });
      const { start, stop } = stream;
      // The usual pattern: start on mount, stop on unmount. StrictMode runs it twice.
      useEffectOnce(start, stop);
      return stream;
    },
    // StrictMode at the root (a StrictMode wrapper component does not double the effects).
    { reactStrictMode: true },
  );
  await waitFor(() => expect(view.result.current.status).toBe('closed'));
  expect(view.result.current.text).toBe('t0 t1 t2 ');
  expect(fetches).toBe(1);
  expect(hits.get('/tokens?n=3&strict')).toBe(1);
});

test('new callbacks are used at once, without reconnecting', async () => {
  hits.set('/slow', 0);
  const first: string[] = [];
  const second: string[] = [];
  const view = renderStream('/slow', { onEvent: (event) => first.push(event.data) });
  act(() => view.result.current.start());
  await waitFor(() => expect(first.length).toBeGreaterThan(1));
  view.rerender({ onEvent: (event) => second.push(event.data), maxEvents: 5 });
  await waitFor(() => expect(second.length).toBeGreaterThan(2));
  const firstCount = first.length;
  await waitFor(() => expect(second.length).toBeGreaterThan(4));
  expect(first).toHaveLength(firstCount);
  expect(hits.get('/slow')).toBe(1);
  act(() => view.result.current.stop());
});

test('thousands of events render in far fewer batches', async () => {
  const view = renderStream('/tokens?n=5000&burst', { maxEvents: 10 });
  act(() => view.result.current.start());
  await waitFor(() => expect(view.result.current.status).toBe('closed'));
  expect(view.result.current.text.length).toBe(
    Array.from({ length: 5000 }, (_, index) => `t${index} `).join('').length,
  );
  expect(view.result.current.events.map((event) => event.id)).toEqual(
    Array.from({ length: 10 }, (_, index) => String(4991 + index)),
  );
  console.log('renders', view.renders());
  // 200 writes of 25 events: unbatched, that is about one render per read (200).
  expect(view.renders()).toBeLessThan(50);
});

test('a cut stream is reconnecting (with its delay), then resumes with Last-Event-ID', async () => {
  const retries: Array<{ attempt: number; delayMs: number; text: string; lastEventId: string }> =
    [];
  const view = renderStream('/cut', {
    retry: { initialDelayMs: 30, maxDelayMs: 30 },
    onRetry: ({ attempt, delayMs, text, lastEventId }) =>
      retries.push({ attempt, delayMs, text, lastEventId }),
  });
  act(() => view.result.current.start());
  await waitFor(() => expect(view.result.current.status).toBe('closed'));
  expect(view.result.current.text).toBe('a b c d ');
  expect(retries).toEqual([
    { attempt: 1, delayMs: expect.any(Number), text: 'a b ', lastEventId: '2' },
  ]);
  expect(view.statuses).toEqual(['idle', 'connecting', 'open', 'reconnecting', 'open', 'closed']);
});

test('a failure is status error with the error, and onError hears it', async () => {
  const errors: unknown[] = [];
  const view = renderStream('/unauthorized', { onError: (error) => errors.push(error) });
  act(() => view.result.current.start());
  await waitFor(() => expect(view.result.current.status).toBe('error'));
  expect(String(view.result.current.error)).toMatch(/401/);
  expect(errors).toEqual([view.result.current.error]);
});

test('a bad option throws from start(); one only fetch can judge is status error', async () => {
  const view = renderStream('/tokens?n=1', { maxEvents: -1 });
  expect(() => view.result.current.start()).toThrow(/maxEvents must be a non-negative integer/);
  expect(view.result.current.status).toBe('idle');
  view.rerender({ body: 'raw' });
  act(() => view.result.current.start({ json: true }));
  await waitFor(() => expect(view.result.current.status).toBe('error'));
  expect(String(view.result.current.error)).toMatch(/either `json` or `body`/);
});

// A start-on-mount effect with its cleanup, as application code writes it.
function useEffectOnce(start: () => void, stop: () => void): void {
  useEffect(() => {
    start();
    return stop;
  }, [start, stop]);
}
