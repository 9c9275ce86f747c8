/**
 * The demo's API over real sockets, read with ssekit's own client: resumption, cancellation,
 * progress, topic filters and replay, clean shutdown. The browser suite covers the page.
 */

import type { UIMessage, UIMessageChunk } from 'ai';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { aiAnswer } from '../../examples/demo/server/ai-chat.ts';
import { type Demo, startDemo } from '../../examples/demo/server/demo.ts';
import { fakeAnswer, tokenize } from '../../examples/demo/server/fake-model.ts';
import type {
  BackgroundJob,
  ChatMessage,
  DemoNotification,
  JobProgress,
  LogLine,
  RunRecord,
} from '../../examples/demo/shared.ts';
import { createChatTransport } from '../../src/ai/client.ts';
import { fetchEventStream } from '../../src/client/index.ts';
import type { ServerSentEvent } from '../../src/index.ts';

let demo: Demo;
const errors: unknown[] = [];
const fast = { retry: { initialDelayMs: 20, maxDelayMs: 100 } };

beforeAll(async () => {
  demo = await startDemo({
    port: 0,
    maxDurationMs: 600, // responses last 400 ms: several resumes per answer
    retryMs: 50,
    retryJitterMs: 50,
    tokenDelayMs: 3,
    aiTokenDelayMs: 3,
    jobStepMs: 2,
    jobFeedIntervalMs: 10,
    notificationIntervalMs: 50,
    logIntervalMs: 10,
    metricsIntervalMs: 50,
    onError: (error) => errors.push(error),
  });
});
afterAll(() => demo?.close());

const messages: ChatMessage[] = [{ role: 'user', content: 'Is it resumable?' }];

describe('chat', () => {
  test('the answer arrives whole and exact across several deadline cuts', async () => {
    let resumes = 0;
    let text = '';
    const stream = fetchEventStream(`${demo.url}/api/chat`, {
      json: { messages },
      ...fast,
      onRetry: () => resumes++,
    });
    for await (const event of stream) {
      if (event.type === 'token') text += (JSON.parse(event.data) as { text: string }).text;
    }
    expect(text).toBe(fakeAnswer(messages));
    expect(resumes).toBeGreaterThanOrEqual(1);
    expect(errors).toEqual([]);
  });

  test('the default answer outlives the default 10 s deadline at least once', () => {
    const tokens = tokenize(fakeAnswer(messages));
    expect(tokens.join('')).toBe(fakeAnswer(messages));
    // 35 ms per token against a response cut at 10 s minus its 1 s margin.
    expect(tokens.length * 35).toBeGreaterThan(9_000);
  });

  test('cancel stops the run on the server, and the stream says so', async () => {
    const events: ServerSentEvent[] = [];
    let done: ServerSentEvent | undefined;
    const stream = fetchEventStream(`${demo.url}/api/chat`, {
      json: { messages },
      ...fast,
      onClose: (info) => {
        done = info.event;
      },
    });
    let runId = '';
    for await (const event of stream) {
      events.push(event);
      if (event.type === 'run') {
        runId = (JSON.parse(event.data) as { runId: string }).runId;
        const response = await fetch(`${demo.url}/api/runs/cancel`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ runId }),
        });
        expect(response.status).toBe(202);
      }
    }
    expect(done?.data).toBe('{"cancelled":true}');
    expect(events.length).toBeLessThan(tokenize(fakeAnswer(messages)).length);
    const runs = (await (await fetch(`${demo.url}/api/debug/runs`)).json()) as {
      runs: Array<{ runId: string; state: string }>;
    };
    expect(runs.runs.find((run) => run.runId === runId)?.state).toBe('cancelled');
  });

  test('a bad body is a 400 that says what is wrong', async () => {
    const response = await fetch(`${demo.url}/api/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'assistant', content: 'hi' }] }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: { code: 'bad-request', message: "The last message must be the user's." },
    });
  });
});

test('a job reports progress through its phases to 100 %, then its result', async () => {
  const progress: JobProgress[] = [];
  let result: unknown;
  const stream = fetchEventStream(`${demo.url}/api/jobs`, {
    json: { items: 100 },
    onClose: (info) => {
      result = info.event && JSON.parse(info.event.data);
    },
  });
  for await (const event of stream) {
    if (event.type === 'progress') progress.push(JSON.parse(event.data) as JobProgress);
  }
  expect(progress.map((step) => step.percent)).toEqual(
    [...progress.map((step) => step.percent)].sort((a, b) => a - b),
  );
  expect(progress.at(-1)).toMatchObject({ phase: 'render report', fraction: 1, percent: 100 });
  expect([...new Set(progress.map((step) => step.phase))]).toEqual([
    'download',
    'analyse',
    'render report',
  ]);
  expect(result).toMatchObject({ items: 100, summary: 'Processed 100 items in 3 phases.' });
});

describe('topics', () => {
  async function readLines(query: string, count: number, lastEventId = '') {
    const lines: Array<LogLine & { id: string }> = [];
    const stream = fetchEventStream(`${demo.url}/api/logs${query}`, { lastEventId });
    for await (const event of stream) {
      lines.push({ ...(JSON.parse(event.data) as LogLine), id: event.id });
      if (lines.length === count) break;
    }
    return lines;
  }

  test('the level filter runs on the server', async () => {
    const lines = await readLines('?level=warn', 5);
    expect(new Set(lines.map((line) => line.level))).not.toContain('info');
    expect(lines.every((line) => line.level === 'warn' || line.level === 'error')).toBe(true);
  });

  test('an unknown level is a 400', async () => {
    const response = await fetch(`${demo.url}/api/logs?level=loud`);
    expect(response.status).toBe(400);
    await response.body?.cancel();
  });

  test('a reconnect with Last-Event-ID replays exactly the missed lines', async () => {
    const first = await readLines('?level=debug', 3);
    await new Promise((resolve) => setTimeout(resolve, 100)); // lines go by meanwhile
    const replayed = await readLines('?level=debug', 5, first.at(-1)!.id);
    expect(replayed.map((line) => line.seq)).toEqual(
      Array.from({ length: 5 }, (_, index) => first.at(-1)!.seq + 1 + index),
    );
    expect(replayed[0]!.time).toBeLessThan(Date.now() - 50); // logged while away
  });

  test('metrics arrive as samples, counting the open streams', async () => {
    const stream = fetchEventStream(`${demo.url}/api/metrics`);
    const samples: Array<{ cpu: number; connections: number }> = [];
    for await (const event of stream) {
      samples.push(JSON.parse(event.data) as { cpu: number; connections: number });
      if (samples.length === 2) break;
    }
    expect(samples[1]!.connections).toBeGreaterThanOrEqual(1);
    expect(samples[1]!.cpu).toBeGreaterThanOrEqual(0);
  });
});

describe('AI chat (ssekit/ai)', () => {
  const question = 'Does it resume?';
  const user: UIMessage = { id: 'u1', role: 'user', parts: [{ type: 'text', text: question }] };
  const modelCalls = async (chatId: string) => {
    const { runs } = (await (await fetch(`${demo.url}/api/debug/runs`)).json()) as {
      runs: RunRecord[];
    };
    return runs.filter((run) => run.kind === 'ai-chat' && run.chatId === chatId);
  };
  async function textOf(stream: ReadableStream<UIMessageChunk>): Promise<string> {
    let text = '';
    const reader = stream.getReader();
    for (let read = await reader.read(); !read.done; read = await reader.read()) {
      if (read.value.type === 'text-delta') text += read.value.delta;
    }
    return text;
  }

  test('the answer arrives whole, from one model call, and is stored', async () => {
    const chatId = 'server-test-1';
    const send = createChatTransport<UIMessageChunk>({ api: `${demo.url}/api/ai/chat` });
    const stream = await send.sendMessages({
      trigger: 'submit-message',
      chatId,
      messageId: undefined,
      messages: [user],
      abortSignal: undefined,
    });
    expect(await textOf(stream)).toBe(aiAnswer(question));
    expect(await modelCalls(chatId)).toMatchObject([
      { state: 'finished', tokens: tokenize(aiAnswer(question)).length },
    ]);
    const stored = (await (
      await fetch(`${demo.url}/api/ai/chat/${chatId}/messages`)
    ).json()) as UIMessage[];
    expect(stored.map((message) => message.role)).toEqual(['user', 'assistant']);
    expect(stored[1]!.parts.find((part) => part.type === 'text')).toMatchObject({
      text: aiAnswer(question),
    });
    // Ended: nothing to resume.
    const resume = await fetch(`${demo.url}/api/ai/chat/${chatId}/stream`);
    expect(resume.status).toBe(204);
  });

  test('a reload (GET .../stream) mid-answer replays it from its start; the model runs once', async () => {
    const chatId = 'server-test-2';
    const send = createChatTransport<UIMessageChunk>({ api: `${demo.url}/api/ai/chat` });
    const controller = new AbortController();
    const first = await send.sendMessages({
      trigger: 'submit-message',
      chatId,
      messageId: undefined,
      messages: [user],
      abortSignal: controller.signal,
    });
    const reader = first.getReader();
    let seen = '';
    while (seen.length < 20) {
      const { value } = await reader.read();
      if (value?.type === 'text-delta') seen += value.delta;
    }
    // The page goes away without stopping (a reload): the connection closes, the answer goes on.
    await reader.cancel();
    const resumed = await send.reconnectToStream({ chatId });
    expect(resumed).not.toBeNull();
    expect(await textOf(resumed!)).toBe(aiAnswer(question));
    expect(await modelCalls(chatId)).toMatchObject([{ state: 'finished' }]);
  });

  test('a bad body is a 400 that says what is wrong', async () => {
    const response = await fetch(`${demo.url}/api/ai/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'x y', messages: [user] }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: {
        code: 'bad-request',
        message: 'id must be a chat id: 1 to 64 letters, digits, _ or -.',
      },
    });
  });
});

describe('dashboard: many topics on one connection', () => {
  test('one GET carries logs, metrics, jobs and notifications; the server counts it', async () => {
    const stream = fetchEventStream(
      `${demo.url}/api/topics?topic=logs&topic=metrics&topic=jobs&topic=notifications`,
    );
    const seen = new Map<string, number>();
    let stats: unknown;
    for await (const event of stream) {
      seen.set(event.type, (seen.get(event.type) ?? 0) + 1);
      if (event.type === 'job') {
        expect((JSON.parse(event.data) as BackgroundJob).percent).toBeLessThanOrEqual(100);
      }
      if (event.type === 'notification') {
        expect((JSON.parse(event.data) as DemoNotification).text).not.toBe('');
      }
      if (['log', 'metrics', 'job', 'notification'].every((type) => (seen.get(type) ?? 0) >= 2)) {
        stats = await (await fetch(`${demo.url}/api/debug/connections`)).json();
        break;
      }
    }
    expect(seen.get('subscribed')).toBe(1);
    expect(stats).toMatchObject({ multiplexed: 1 });
  });

  test('a topic that is not the dashboard’s is refused: 400 on the GET', async () => {
    const response = await fetch(`${demo.url}/api/topics?topic=logs&topic=secrets`);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: {
        code: 'bad-request',
        message: 'topic must be one or more of logs, metrics, jobs, notifications.',
      },
    });
  });

  test('a run that ends is announced on the notifications topic', async () => {
    const notifications: DemoNotification[] = [];
    const controller = new AbortController();
    const listening = (async () => {
      const stream = fetchEventStream(`${demo.url}/api/topics?topic=notifications`, {
        signal: controller.signal,
      });
      try {
        for await (const event of stream) {
          if (event.type !== 'notification') continue;
          notifications.push(JSON.parse(event.data) as DemoNotification);
          if (notifications.some((item) => item.text === 'Long job finished')) return;
        }
      } catch (error) {
        if (!controller.signal.aborted) throw error;
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 100));
    for await (const _ of fetchEventStream(`${demo.url}/api/jobs`, { json: { items: 10 } })) {
      // the job runs to its end
    }
    await listening;
    expect(notifications.find((item) => item.text === 'Long job finished')).toMatchObject({
      level: 'success',
    });
  });
});

test('shutdown ends every stream with a retry hint with jitter, then closes', async () => {
  const own = await startDemo({ port: 0, retryMs: 1000, retryJitterMs: 1000, onError: () => {} });
  const response = await fetch(`${own.url}/api/logs`);
  const body = response.text();
  await own.close();
  const retry = Number(/^retry: (\d+)$/m.exec(await body)?.[1]);
  expect(retry).toBeGreaterThanOrEqual(1000);
  expect(retry).toBeLessThan(2000);
  await expect(fetch(`${own.url}/api/config`)).rejects.toThrow();
});
