// @vitest-environment jsdom
/**
 * `useChat` of @ai-sdk/react, rendered with React Testing Library in jsdom, on ssekit's transport
 * against a real server (createChatStreams on a hub, the AI SDK's test model): a cut mid-answer,
 * a reload mid-answer (`resume: true`) and a stop mid-answer. The final message equals the
 * uninterrupted one, and the model ran once.
 */
import { type UseChatHelpers, useChat } from '@ai-sdk/react';
import { act, configure, renderHook, waitFor } from '@testing-library/react';
import type { UIMessage, UIMessageChunk } from 'ai';
import { afterEach, beforeAll, expect, test } from 'vitest';
import { createChatTransport } from '../../src/ai/client.ts';
import { createHub } from '../../src/hub/index.ts';
import { ANSWER, scriptedModel, serveChat, userMessage } from './chat-app.ts';

beforeAll(() => {
  (globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = false;
  configure({ asyncUtilTimeout: 10_000 });
});

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function setUp(gateAt?: number) {
  const model = scriptedModel(gateAt);
  const hub = createHub();
  const server = await serveChat(hub, model);
  cleanup.push(
    () => hub.close(),
    () => server.close(),
  );
  return { model, server, api: `${server.url}/api/chat` };
}

function assistantText(messages: UIMessage[]): string {
  const last = messages.at(-1);
  if (last?.role !== 'assistant') return '';
  return last.parts.map((part) => (part.type === 'text' ? part.text : '')).join('');
}

type Chat = UseChatHelpers<UIMessage>;

test('useChat: a cut mid-answer resumes after the last chunk; one message, the model ran once', async () => {
  const { model, server, api } = await setUp(5);
  const transport = createChatTransport({ api, retry: { initialDelayMs: 5 } });
  const view = renderHook(() => useChat({ id: 'cut', transport }));
  cleanup.push(() => view.unmount());
  void view.result.current.sendMessage({ text: 'Say the words' });
  await model.atGate;
  server.dropConnections();
  model.release();
  await waitFor(() => expect(view.result.current.status).toBe('ready'));
  const chat: Chat = view.result.current;
  expect(chat.error).toBeUndefined();
  expect(chat.messages.map((message) => message.role)).toEqual(['user', 'assistant']);
  expect(assistantText(chat.messages)).toBe(ANSWER);
  expect(chat.messages[1]!.parts.filter((part) => part.type === 'text')).toHaveLength(1);
  expect(model.calls).toBe(1);
  expect(server.requests).toBe(2);
});

test('useChat({ resume: true }) after a reload mid-answer shows the whole answer once', async () => {
  const { model, server, api } = await setUp(4);
  // The page before the reload: it sent the message, then went away mid-answer.
  const before = createChatTransport<UIMessageChunk>({ api, stopOnAbort: false });
  const stream = await before.sendMessages({
    trigger: 'submit-message',
    chatId: 'reload',
    messageId: undefined,
    messages: [userMessage('Say the words')],
    abortSignal: undefined,
  });
  await model.atGate;
  await stream.cancel();
  // The reloaded page: the user's message from the app's store, and resume.
  const transport = createChatTransport({ api });
  const view = renderHook(() =>
    useChat({ id: 'reload', transport, resume: true, messages: [userMessage('Say the words')] }),
  );
  cleanup.push(() => view.unmount());
  await waitFor(() => expect(view.result.current.status).toBe('streaming'));
  model.release();
  await waitFor(() => expect(view.result.current.status).toBe('ready'));
  expect(view.result.current.messages.map((message) => message.role)).toEqual([
    'user',
    'assistant',
  ]);
  expect(assistantText(view.result.current.messages)).toBe(ANSWER);
  expect(model.calls).toBe(1);
  // A second reload after the end: nothing in progress (204), nothing added.
  const again = renderHook(() =>
    useChat({ id: 'reload', transport, resume: true, messages: view.result.current.messages }),
  );
  cleanup.push(() => again.unmount());
  await waitFor(() => expect(server.requests).toBe(3));
  await waitFor(() => expect(again.result.current.status).toBe('ready'));
  expect(again.result.current.messages).toHaveLength(2);
  expect(model.calls).toBe(1);
});

test('useChat stop() mid-answer cancels the model call on the server; the partial answer stays', async () => {
  const { model, server, api } = await setUp(3);
  const transport = createChatTransport({ api });
  const view = renderHook(() => useChat({ id: 'stop', transport }));
  cleanup.push(() => view.unmount());
  void view.result.current.sendMessage({ text: 'Say the words' });
  await model.atGate;
  await waitFor(() => expect(assistantText(view.result.current.messages)).toBe('w0 w1 w2 '));
  await act(() => view.result.current.stop());
  expect(((await model.aborted) as { code?: string }).code).toBe('run-cancelled');
  await waitFor(() => expect(view.result.current.status).toBe('ready'));
  expect(assistantText(view.result.current.messages)).toBe('w0 w1 w2 ');
  expect(await server.chat.activeRunId('stop')).toBeUndefined();
  expect(model.calls).toBe(1);
});
