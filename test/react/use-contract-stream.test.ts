// @vitest-environment jsdom
/**
 * useContractStream: the hook's events typed and validated by a contract (zod), served in process
 * by createEventStream under the same contract.
 */
import { act, configure, renderHook, waitFor } from '@testing-library/react';
import { beforeAll, expect, expectTypeOf, test, vi } from 'vitest';
import { z } from 'zod';
import { defineContract } from '../../src/contract/index.ts';
import { ContractError } from '../../src/index.ts';
import { type UseContractStreamOptions, useContractStream } from '../../src/react/index.ts';
import { createEventStream } from '../../src/server/index.ts';

beforeAll(() => {
  (globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = false;
  configure({ asyncUtilTimeout: 10_000 });
});

const chat = defineContract({
  token: z.string(),
  usage: z.object({ outputTokens: z.number() }),
});

const serve = (body?: string) => async (input: string | URL | Request, init?: RequestInit) => {
  const request = new Request(input, init);
  if (body !== undefined)
    return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
  return createEventStream(
    request,
    async (stream) => {
      for (const token of ['Hel', 'lo', ' 42']) await stream.send({ event: 'token', data: token });
      await stream.send({ event: 'usage', data: { outputTokens: 3 } });
    },
    { contract: chat, heartbeatMs: 0 },
  );
};

function render(options: UseContractStreamOptions<typeof chat>) {
  return renderHook((props) => useContractStream('http://x/chat', props), {
    initialProps: options,
  });
}

test('events are typed and parsed; text accumulates the tokens', async () => {
  const onEvent = vi.fn();
  const view = render({ contract: chat, fetch: serve(), onEvent });
  act(() => view.result.current.start({ prompt: 'hi' }));
  await waitFor(() => expect(view.result.current.status).toBe('closed'));
  const { events, text } = view.result.current;
  expect(text).toBe('Hello 42');
  expect(events.map((event) => [event.type, event.data])).toEqual([
    ['token', 'Hel'],
    ['token', 'lo'],
    ['token', ' 42'],
    ['usage', { outputTokens: 3 }],
  ]);
  const usage = events.find((event) => event.type === 'usage');
  expectTypeOf(events).toEqualTypeOf<
    readonly (
      | { type: 'token'; data: string; id: string }
      | { type: 'usage'; data: { outputTokens: number }; id: string }
    )[]
  >();
  expect(usage?.type === 'usage' && usage.data.outputTokens).toBe(3);
  expect(onEvent).toHaveBeenCalledTimes(4);
});

test('a mismatch ends in status error with the ContractError; the bad event is not rendered', async () => {
  const onError = vi.fn();
  const view = render({
    contract: chat,
    fetch: serve('event: token\ndata: a\n\nevent: usage\ndata: {"outputTokens":"many"}\n\n'),
    onError,
  });
  act(() => view.result.current.start());
  await waitFor(() => expect(view.result.current.status).toBe('error'));
  expect(ContractError.isInstance(view.result.current.error)).toBe(true);
  expect((view.result.current.error as ContractError).event).toBe('usage');
  expect(onError).toHaveBeenCalledWith(view.result.current.error);
  expect(view.result.current.events.map((event) => event.data)).toEqual(['a']);
});
