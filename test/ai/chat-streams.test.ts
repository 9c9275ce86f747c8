/**
 * ssekit/ai end to end on real sockets, memory and Redis: `streamText` of the real `ai` package
 * with its test model, `createChatStreams` on a hub, read by ssekit's transport and by the AI
 * SDK's own `DefaultChatTransport` + `readUIMessageStream`. The model's call counter proves that no
 * cut, reload or instance switch runs it twice; its abort signal proves that stop reaches it.
 */
import { DefaultChatTransport, readUIMessageStream, type UIMessage, type UIMessageChunk } from 'ai';
import { afterEach, describe, expect, test } from 'vitest';
import { createChatTransport } from '../../src/ai/client.ts';
import { createHub, type Hub } from '../../src/hub/index.ts';
import { createRedisEngine } from '../../src/hub/redis.ts';
import { hubEngines } from '../helpers/hub-engines.ts';
import { startRedis } from '../helpers/redis.ts';
import { ANSWER, type ScriptedModel, scriptedModel, serveChat, userMessage } from './chat-app.ts';

const engines = hubEngines('ai');
const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function serve(hub: Hub, model: ScriptedModel) {
  const server = await serveChat(hub, model);
  cleanup.push(
    () => hub.close(),
    () => server.close(),
  );
  return server;
}

/** The assistant message a UI message stream builds, as `useChat` builds it. */
async function messageOf(stream: ReadableStream<UIMessageChunk>): Promise<UIMessage> {
  let last: UIMessage | undefined;
  for await (const message of readUIMessageStream({ stream, terminateOnError: true })) {
    last = message;
  }
  return last!;
}

function textOf(message: UIMessage | undefined): string {
  return (message?.parts ?? []).map((part) => (part.type === 'text' ? part.text : '')).join('');
}

const send = (
  transport: ReturnType<typeof createChatTransport<UIMessageChunk>>,
  chatId: string,
  abortSignal?: AbortSignal,
) =>
  transport.sendMessages({
    trigger: 'submit-message',
    chatId,
    messageId: undefined,
    messages: [userMessage('Say the words')],
    abortSignal,
  });

describe.each(Object.entries(engines))('ssekit/ai on %s', (_name, engine) => {
  test('an answer arrives whole, each chunk with an id, in the UI message stream protocol', async () => {
    const model = scriptedModel();
    const server = await serve(createHub({ engine: engine() }), model);
    const response = await fetch(`${server.url}/api/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'c1', messages: [userMessage('hi')] }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-vercel-ai-ui-message-stream')).toBe('v1');
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const runId = response.headers.get('ssekit-run-id')!;
    const text = await response.text();
    const blocks = text
      .split('\n\n')
      .filter((block) => block.startsWith('id') || block.startsWith('data'));
    expect(blocks.at(-1)).toBe('data: [DONE]');
    const chunks = blocks.slice(0, -1);
    expect(chunks.map((block) => block.split('\n')[0])).toEqual(
      chunks.map((_, index) => `id: ${runId}.${index + 1}`),
    );
    const types = chunks.map((block) => JSON.parse(block.split('\n')[1]!.slice(6)).type);
    expect(types[0]).toBe('start');
    expect(types.at(-1)).toBe('finish');
    expect(model.calls).toBe(1);
  });

  test("the AI SDK's DefaultChatTransport reads the same answer", async () => {
    const model = scriptedModel();
    const server = await serve(createHub({ engine: engine() }), model);
    const transport = new DefaultChatTransport({ api: `${server.url}/api/chat` });
    const stream = await transport.sendMessages({
      trigger: 'submit-message',
      chatId: 'c1',
      messageId: undefined,
      messages: [userMessage('hi')],
      abortSignal: undefined,
    });
    expect(textOf(await messageOf(stream))).toBe(ANSWER);
  });

  test('a cut mid-answer resumes after the last chunk: the same message, the model ran once', async () => {
    const model = scriptedModel(5);
    const server = await serve(createHub({ engine: engine() }), model);
    const transport = createChatTransport<UIMessageChunk>({
      api: `${server.url}/api/chat`,
      retry: { initialDelayMs: 5 },
    });
    const seen: UIMessageChunk[] = [];
    const stream = (await send(transport, 'c1')).pipeThrough(
      new TransformStream<UIMessageChunk, UIMessageChunk>({
        transform(chunk, controller) {
          seen.push(chunk);
          controller.enqueue(chunk);
        },
      }),
    );
    const message = messageOf(stream);
    await model.atGate;
    await server.waitForRequests(1);
    server.dropConnections();
    model.release();
    expect(textOf(await message)).toBe(ANSWER);
    expect(model.calls).toBe(1);
    expect(server.requests).toBe(2); // the answer, one resume
    const deltas = seen.filter((chunk) => chunk.type === 'text-delta');
    expect(deltas.map((chunk) => chunk.delta).join('')).toBe(ANSWER); // none twice, none missing
  });

  test('after a reload, reconnectToStream gives the answer in progress from its start; 204 after it', async () => {
    const model = scriptedModel(4);
    const server = await serve(createHub({ engine: engine() }), model);
    const first = createChatTransport<UIMessageChunk>({
      api: `${server.url}/api/chat`,
      stopOnAbort: false,
    });
    const page = new AbortController();
    const stream = await send(first, 'c2', page.signal);
    const reader = stream.getReader();
    await reader.read();
    await model.atGate;
    page.abort(); // the page goes away: its connection closes, the answer goes on
    await reader.cancel();
    const reloaded = createChatTransport<UIMessageChunk>({ api: `${server.url}/api/chat` });
    const resumed = await reloaded.reconnectToStream({ chatId: 'c2' });
    expect(resumed).not.toBeNull();
    model.release();
    expect(textOf(await messageOf(resumed!))).toBe(ANSWER);
    expect(model.calls).toBe(1);
    expect(await reloaded.reconnectToStream({ chatId: 'c2' })).toBeNull();
    expect(await reloaded.reconnectToStream({ chatId: 'never-started' })).toBeNull();
  });

  test('stop mid-answer cancels the model call and ends every reader with an abort', async () => {
    const model = scriptedModel(3);
    const server = await serve(createHub({ engine: engine() }), model);
    const transport = createChatTransport<UIMessageChunk>({ api: `${server.url}/api/chat` });
    const controller = new AbortController();
    const stream = await send(transport, 'c3', controller.signal);
    await model.atGate;
    const watcher = await transport.reconnectToStream({ chatId: 'c3' });
    controller.abort();
    const reason = (await model.aborted) as { code?: string };
    expect(reason.code).toBe('run-cancelled');
    const chunks: UIMessageChunk[] = [];
    for await (const chunk of watcher! as unknown as AsyncIterable<UIMessageChunk>)
      chunks.push(chunk);
    expect(chunks.at(-1)).toEqual({ type: 'abort', reason: 'cancelled' });
    await stream.cancel();
    expect(await server.chat.activeRunId('c3')).toBeUndefined();
    expect(await transport.reconnectToStream({ chatId: 'c3' })).toBeNull();
    expect(model.calls).toBe(1);
  });

  test('a bad chat id is a 400; a resume with a foreign or malformed Last-Event-ID is refused', async () => {
    const model = scriptedModel();
    const server = await serve(createHub({ engine: engine() }), model);
    const bad = await fetch(`${server.url}/api/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: '', messages: [userMessage('hi')] }),
    });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.code).toBe('bad-request');
    const malformed = await fetch(`${server.url}/api/chat/c4/stream`, {
      headers: { 'last-event-id': 'nope' },
    });
    expect(malformed.status).toBe(400);
    const unknown = await fetch(`${server.url}/api/chat/c4/stream`, {
      headers: { 'last-event-id': 'AAAAAAAAAAAAAAAAAAAAAA.3' },
    });
    expect(unknown.status).toBe(404);
    expect(model.calls).toBe(0);
  });
});

describe('two instances on one Redis', () => {
  test('send on A, cut, resume on B by chat id; stop on B cancels the model call on A', async () => {
    const redis = await startRedis();
    cleanup.push(() => redis.stop());
    const prefix = `ai-two:${Date.now()}:`;
    const hubOn = () =>
      createHub({ engine: createRedisEngine({ redis: redis.client(), prefix, blockMs: 200 }) });
    const modelA = scriptedModel(4);
    const modelB = scriptedModel();
    const a = await serve(hubOn(), modelA);
    const b = await serve(hubOn(), modelB);

    const onA = createChatTransport<UIMessageChunk>({
      api: `${a.url}/api/chat`,
      stopOnAbort: false,
    });
    const page = new AbortController();
    const first = await send(onA, 'shared', page.signal);
    await modelA.atGate;
    page.abort();
    await first.cancel();

    const onB = createChatTransport<UIMessageChunk>({ api: `${b.url}/api/chat` });
    const resumed = await onB.reconnectToStream({ chatId: 'shared' });
    const message = messageOf(resumed!);
    modelA.release();
    expect(textOf(await message)).toBe(ANSWER);

    // A second answer, stopped through B.
    const gated = scriptedModel(2);
    const c = await serve(hubOn(), gated);
    const onC = createChatTransport<UIMessageChunk>({
      api: `${c.url}/api/chat`,
      stopOnAbort: false,
    });
    const second = await send(onC, 'shared-2');
    await gated.atGate;
    const watcher = await onB.reconnectToStream({ chatId: 'shared-2' });
    const stop = new AbortController();
    const stopper = await onB.reconnectToStream({ chatId: 'shared-2', abortSignal: stop.signal });
    stop.abort(); // useChat's stop() on a page served by B
    expect(((await gated.aborted) as { code?: string }).code).toBe('run-cancelled');
    const chunks: UIMessageChunk[] = [];
    for await (const chunk of watcher! as unknown as AsyncIterable<UIMessageChunk>)
      chunks.push(chunk);
    expect(chunks.at(-1)).toEqual({ type: 'abort', reason: 'cancelled' });
    await stopper!.cancel();
    await second.cancel();
    expect(modelA.calls + modelB.calls + gated.calls).toBe(2);
    expect(modelB.calls).toBe(0);
  });
});
