/**
 * The demo's optional back ends: a real Redis (two instances, a response cut on one resumes on the
 * other) and an OpenAI-compatible upstream (a local server replaying a recorded OpenAI stream).
 */
import { readFileSync } from 'node:fs';
import type { UIMessageChunk } from 'ai';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { aiAnswer } from '../../examples/demo/server/ai-chat.ts';
import { type Demo, startDemo } from '../../examples/demo/server/demo.ts';
import { fakeAnswer } from '../../examples/demo/server/fake-model.ts';
import type { ChatMessage } from '../../examples/demo/shared.ts';
import { createChatTransport } from '../../src/ai/client.ts';
import { fetchEventStream } from '../../src/client/index.ts';
import { readBody, startServer, type TestServer } from '../helpers/http-server.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';

const messages: ChatMessage[] = [{ role: 'user', content: 'Across instances?' }];
const quick = { port: 0, retryMs: 30, retryJitterMs: 30, onError: () => {} } as const;

let redis: TestRedis;
const demos: Demo[] = [];
let upstream: TestServer;
const upstreamRequests: Array<{ authorization: string | undefined; body: string }> = [];

beforeAll(async () => {
  redis = await startRedis();
  const recorded = readFileSync(
    new URL('../fixtures/openai-chat-stream.txt', import.meta.url),
    'utf8',
  );
  upstream = await startServer(async (req, res) => {
    upstreamRequests.push({ authorization: req.headers.authorization, body: await readBody(req) });
    res.writeHead(200, { 'content-type': 'text/event-stream' }).end(recorded);
  });
});
afterAll(async () => {
  await Promise.all(demos.map((demo) => demo.close()));
  await upstream?.close();
  await redis?.stop();
});

test('on Redis, a chat cut on one instance resumes on another, exactly', async () => {
  const options = { ...quick, redisUrl: redis.url, maxDurationMs: 600, tokenDelayMs: 3 };
  const [first, second] = await Promise.all([startDemo(options), startDemo(options)]);
  demos.push(first, second);
  const config = await (await fetch(`${second.url}/api/config`)).json();
  expect(config).toMatchObject({ engine: 'redis', resumable: true });
  let text = '';
  let resumes = 0;
  const stream = fetchEventStream(`${first.url}/api/chat`, {
    json: { messages },
    retry: { initialDelayMs: 10, maxDelayMs: 50 },
    // Every resume goes to the other instance, as a load balancer might send it.
    resume: ({ attempt }) => ({
      url: `${(attempt % 2 === 0 ? second : first).url}/api/chat`,
    }),
    onRetry: () => resumes++,
  });
  for await (const event of stream) {
    if (event.type === 'token') text += (JSON.parse(event.data) as { text: string }).text;
  }
  expect(text).toBe(fakeAnswer(messages));
  expect(resumes).toBeGreaterThanOrEqual(1);
});

test('on Redis, an AI answer started on one instance is resumed after a reload on another; one model call', async () => {
  const options = { ...quick, redisUrl: redis.url, aiTokenDelayMs: 5 };
  const [first, second] = await Promise.all([startDemo(options), startDemo(options)]);
  demos.push(first, second);
  const chatId = 'redis-chat';
  const question = 'Across instances?';
  const started = await createChatTransport<UIMessageChunk>({
    api: `${first.url}/api/ai/chat`,
  }).sendMessages({
    trigger: 'submit-message',
    chatId,
    messageId: undefined,
    messages: [{ id: 'u1', role: 'user', parts: [{ type: 'text', text: question }] }],
    abortSignal: undefined,
  });
  const reader = started.getReader();
  for (
    let read = await reader.read();
    read.value?.type !== 'text-delta';
    read = await reader.read()
  );
  await reader.cancel(); // the page reloads: its connection goes, the answer goes on
  // The reloaded page's GET lands on the other instance: the chat's answer is found in Redis.
  const resumed = await createChatTransport<UIMessageChunk>({
    api: `${second.url}/api/ai/chat`,
  }).reconnectToStream({ chatId });
  let text = '';
  const again = resumed!.getReader();
  for (let read = await again.read(); !read.done; read = await again.read()) {
    if (read.value.type === 'text-delta') text += read.value.delta;
  }
  expect(text).toBe(aiAnswer(question));
  const calls = [...first.runs(), ...second.runs()].filter((run) => run.chatId === chatId);
  expect(calls).toMatchObject([{ kind: 'ai-chat', state: 'finished' }]);
  expect(first.runs().filter((run) => run.chatId === chatId)).toHaveLength(1);
});

test('with OPENAI_API_KEY, the chat relays the model', async () => {
  const demo = await startDemo({
    ...quick,
    openai: { apiKey: 'sk-test', baseUrl: `${upstream.url}/v1/`, model: 'test-model' },
  });
  demos.push(demo);
  expect(await (await fetch(`${demo.url}/api/config`)).json()).toMatchObject({
    model: 'test-model (OpenAI-compatible relay)',
    resumable: false,
  });
  let text = '';
  for await (const event of fetchEventStream(`${demo.url}/api/chat`, { json: { messages } })) {
    if (event.type === 'token') text += (JSON.parse(event.data) as { text: string }).text;
  }
  expect(text).toBe('Server-sent events stream text over HTTP: éà 😀\ndone.');
  expect(upstreamRequests).toEqual([
    {
      authorization: 'Bearer sk-test',
      body: JSON.stringify({ model: 'test-model', stream: true, messages }),
    },
  ]);
});

test('with OPENAI_API_KEY, the AI chat answers from the upstream model: one call, resumable as a run', async () => {
  upstreamRequests.length = 0;
  const demo = await startDemo({
    ...quick,
    openai: { apiKey: 'sk-test', baseUrl: `${upstream.url}/v1/`, model: 'test-model' },
  });
  demos.push(demo);
  expect(await (await fetch(`${demo.url}/api/config`)).json()).toMatchObject({
    aiModel: 'test-model (OpenAI-compatible, AI SDK provider v4)',
  });
  const chatId = 'upstream-chat';
  const answer = await createChatTransport<UIMessageChunk>({
    api: `${demo.url}/api/ai/chat`,
  }).sendMessages({
    trigger: 'submit-message',
    chatId,
    messageId: undefined,
    messages: [{ id: 'u1', role: 'user', parts: [{ type: 'text', text: 'Why SSE?' }] }],
    abortSignal: undefined,
  });
  let text = '';
  const reader = answer.getReader();
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    if (read.value.type === 'text-delta') text += read.value.delta;
  }
  expect(text).toBe('Server-sent events stream text over HTTP: éà 😀\ndone.');
  expect(upstreamRequests).toEqual([
    {
      authorization: 'Bearer sk-test',
      body: JSON.stringify({
        model: 'test-model',
        stream: true,
        messages: [{ role: 'user', content: 'Why SSE?' }],
      }),
    },
  ]);
  expect(demo.runs().filter((run) => run.chatId === chatId)).toMatchObject([
    { kind: 'ai-chat', state: 'finished' },
  ]);
  // The stored chat holds the answer once, as the page shows it after a reload.
  const stored = (await (await fetch(`${demo.url}/api/ai/chat/${chatId}/messages`)).json()) as {
    role: string;
    parts: { type: string; text?: string }[];
  }[];
  expect(stored.map((message) => message.role)).toEqual(['user', 'assistant']);
  expect(
    stored[1]!.parts
      .filter((part) => part.type === 'text')
      .map((part) => part.text)
      .join(''),
  ).toBe(text);
});
