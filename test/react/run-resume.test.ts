// @vitest-environment jsdom
/**
 * useEventStream on a hub run whose first response is cut after its headers, before its first
 * event: the hook resumes the run from its start (`Last-Event-ID: <runId>.0`, from the response's
 * `ssekit-run-id`), never starting a second one; its text is every token once, in order.
 */
import { act, configure, renderHook, waitFor } from '@testing-library/react';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { toNodeHandler } from '../../src/adapters/node.ts';
import { createHub, type Hub } from '../../src/hub/index.ts';
import { useEventStream } from '../../src/react/index.ts';
import { cutAfterHead } from '../helpers/cut-response.ts';
import { startServer, type TestServer } from '../helpers/http-server.ts';

let server: TestServer;
let hub: Hub;
let runs = 0;
const lastEventIds: string[] = [];

beforeAll(async () => {
  (globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = false;
  configure({ asyncUtilTimeout: 10_000 });
  hub = createHub();
  const handler = toNodeHandler((request) =>
    hub.stream(request, async (run) => {
      runs++;
      for (const token of ['He said ', '"yes" ', 'twice']) await run.send({ data: token });
    }),
  );
  server = await startServer((req, res) => {
    lastEventIds.push((req.headers['last-event-id'] as string | undefined) ?? '');
    if (lastEventIds.length === 1) cutAfterHead(res);
    return handler(req, res);
  });
});
afterAll(async () => {
  await server?.close();
  await hub?.close();
});

test('a run cut after its headers: the hook resumes it from its start, one run, every token once', async () => {
  const view = renderHook(() =>
    useEventStream(server.url, { retry: { initialDelayMs: 5, maxDelayMs: 10 } }),
  );
  act(() => view.result.current.start({ prompt: 'hi' }));
  await waitFor(() => expect(view.result.current.status).toBe('closed'));
  expect(view.result.current.error).toBeUndefined();
  expect(view.result.current.text).toBe('He said "yes" twice');
  const runId = view.result.current.lastEventId.split('.')[0]!;
  expect(lastEventIds).toEqual(['', `${runId}.0`]);
  expect(view.result.current.events.map((event) => event.id)).toEqual(
    [1, 2, 3].map((seq) => `${runId}.${seq}`),
  );
  expect(runs).toBe(1);
});
