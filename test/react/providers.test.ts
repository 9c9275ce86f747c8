// @vitest-environment jsdom
/**
 * useEventStream follows the client's rule (it shares the core): on byte-accurate provider streams
 * `text` is exactly the answer, `status` ends `closed`, one request; a POST cut without ids is
 * `error` (`stream-cut`) after one request; a cut with ids resumes once; `stop()` stops a hub run.
 */
import { act, configure, renderHook, waitFor } from '@testing-library/react';
import { beforeAll, describe, expect, test } from 'vitest';
import type { StopResult } from '../../src/client/index.ts';
import { StreamError } from '../../src/index.ts';
import { type UseEventStreamOptions, useEventStream } from '../../src/react/index.ts';
import { readBody, serverPerTest, writeEventStreamHead } from '../helpers/http-server.ts';
import { providerStreams, serveWire } from '../helpers/provider-streams.ts';

const servers = serverPerTest();
const { serve } = servers;

beforeAll(() => {
  (globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = false;
  configure({ asyncUtilTimeout: 10_000 });
});

function render(url: string, options: UseEventStreamOptions = {}) {
  return renderHook((props: UseEventStreamOptions) => useEventStream(url, props), {
    initialProps: { maxEvents: 0, retry: { initialDelayMs: 5, maxDelayMs: 10 }, ...options },
  });
}

describe.each(providerStreams())('$name', (stream) => {
  test('text is exactly the answer; closed; one request', async () => {
    const server = await serve(serveWire(stream, { hold: true }));
    const done: string[] = [];
    const view = render(server.url, { onDone: ({ text }) => done.push(text) });
    act(() => view.result.current.start({ prompt: 'Hi' }));
    await waitFor(() => expect(view.result.current.status).toBe('closed'));
    expect(view.result.current.text).toBe(stream.text);
    expect(done).toEqual([stream.text]);
    expect(server.requests).toBe(1);
  });
});

test('plain text tokens arrive as sent', async () => {
  const server = await serve((_req, res) => {
    writeEventStreamHead(res);
    res.end(
      'event: token\ndata: He said "yes" and\n\nevent: token\ndata: "yes" \n\nevent: token\ndata: {} \n\n',
    );
  });
  const view = render(server.url);
  act(() => view.result.current.start());
  await waitFor(() => expect(view.result.current.status).toBe('closed'));
  expect(view.result.current.text).toBe('He said "yes" and"yes" {} ');
  expect(server.requests).toBe(1);
});

test('a POST cut without ids: status error with stream-cut, after one request', async () => {
  const server = await serve(async (req, res) => {
    await readBody(req);
    writeEventStreamHead(res);
    res.write('data: {"text":"par"}\n\n', () => setTimeout(() => res.destroy(), 20));
  });
  const errors: unknown[] = [];
  const view = render(server.url, { onError: (error) => errors.push(error) });
  act(() => view.result.current.start({ prompt: 'Hi' }));
  await waitFor(() => expect(view.result.current.status).toBe('error'));
  expect(view.result.current.text).toBe('par');
  expect(StreamError.isInstance(errors[0]) && errors[0].code).toBe('stream-cut');
  expect(server.requests).toBe(1);
});

test('a POST cut with ids resumes once with Last-Event-ID; a deadline resume too', async () => {
  const seen: Array<string | undefined> = [];
  const server = await serve(async (req, res) => {
    await readBody(req);
    seen.push(req.headers['last-event-id'] as string | undefined);
    writeEventStreamHead(res);
    if (seen.length === 1)
      res.write('id: 1\ndata: {"text":"a "}\n\n', () => setTimeout(() => res.destroy(), 20));
    else if (seen.length === 2) res.end('id: 2\ndata: {"text":"b "}\n\nretry: 5\n\n');
    else res.end('id: 3\ndata: {"text":"c"}\n\nevent: done\ndata: {}\n\n');
  });
  const retries: string[] = [];
  const view = render(server.url, { onRetry: ({ text }) => retries.push(text) });
  act(() => view.result.current.start({ prompt: 'Hi' }));
  await waitFor(() => expect(view.result.current.status).toBe('closed'));
  expect(view.result.current.text).toBe('a b c');
  expect(seen).toEqual([undefined, '1', '2']);
  expect(retries).toEqual(['a ', 'a b ']);
});

test('stop() stops a hub run (ssekit-cancel with the run id), onStop hears it', async () => {
  const cancels: Array<{ cancel: string; body: string }> = [];
  const server = await serve(async (req, res) => {
    const body = await readBody(req);
    const cancel = req.headers['ssekit-cancel'];
    if (typeof cancel === 'string') {
      cancels.push({ cancel, body });
      res.writeHead(202, { 'content-type': 'application/json' }).end('{"cancelled":true}');
      return;
    }
    writeEventStreamHead(res, { 'ssekit-run-id': 'run-1' });
    res.write('id: run-1.1\ndata: {"text":"Hel"}\n\n'); // and runs on
  });
  const stops: StopResult[] = [];
  const view = render(server.url, { onStop: (result) => stops.push(result) });
  act(() => view.result.current.start({ prompt: 'Hi' }));
  await waitFor(() => expect(view.result.current.text).toBe('Hel'));
  act(() => view.result.current.stop());
  expect(view.result.current.status).toBe('closed');
  await waitFor(() => expect(stops).toEqual([{ outcome: 'cancelled', runId: 'run-1' }]));
  expect(cancels).toEqual([{ cancel: 'run-1', body: '{"prompt":"Hi"}' }]);
  await server.waitForAborts(1);
});

test('stop() against a plain server only disconnects', async () => {
  const server = await serve((_req, res) => {
    writeEventStreamHead(res);
    res.write('data: one\n\n');
  });
  const stops: StopResult[] = [];
  const view = render(server.url, { onStop: (result) => stops.push(result) });
  act(() => view.result.current.start());
  await waitFor(() => expect(view.result.current.text).toBe('one'));
  act(() => view.result.current.stop());
  await waitFor(() => expect(stops).toEqual([{ outcome: 'not-cancellable', runId: undefined }]));
  await server.waitForAborts(1);
  expect(server.requests).toBe(1);
});
