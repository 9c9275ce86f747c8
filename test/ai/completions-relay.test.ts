/**
 * The resumable Chat Completions relay on real sockets: a fake OpenAI-compatible upstream (it
 * counts its requests and sees its aborts), the relay on a hub, read by the official `openai` SDK
 * and by ssekit's client. The upstream is called once whatever happens to the client.
 */
import OpenAI from 'openai';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { createCompletionsRelay } from '../../src/ai/index.ts';
import { fetchEventStream } from '../../src/client/index.ts';
import { createHub } from '../../src/hub/index.ts';
import { ServerError } from '../../src/index.ts';
import type { TestServer } from '../helpers/http-server.ts';
import { hubEngines } from '../helpers/hub-engines.ts';
import { deferred, serveWeb } from '../helpers/server-stream.ts';

const engines = hubEngines('relay');
const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

const WORDS = Array.from({ length: 10 }, (_, index) => `t${index} `);
const ANSWER = WORDS.join('');

const chunk = (content: string | undefined, finish: string | null = null) =>
  JSON.stringify({
    id: 'chatcmpl-1',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'fake-1',
    choices: [{ index: 0, delta: content === undefined ? {} : { content }, finish_reason: finish }],
  });

interface Upstream {
  server: TestServer;
  readonly requests: number;
  readonly atGate: Promise<void>;
  readonly aborted: Promise<void>;
  release(): void;
}

/** An OpenAI-compatible upstream: WORDS as chunks, pausing before word `gateAt`; `mode` misbehaves. */
async function upstream(
  options: {
    gateAt?: number;
    mode?: 'ok' | 'unauthorized' | 'fail-mid-stream';
    /** fail-mid-stream: fails after the third word once this resolves (the client read them). */
    failAfter?: Promise<void>;
  } = {},
): Promise<Upstream> {
  const { gateAt = Number.POSITIVE_INFINITY, mode = 'ok', failAfter } = options;
  let requests = 0;
  const atGate = deferred();
  const gate = deferred();
  const aborted = deferred();
  const server = await serveWeb(async (request) => {
    requests++;
    if (mode === 'unauthorized') {
      return Response.json(
        {
          error: {
            message: 'Incorrect API key provided',
            type: 'invalid_request_error',
            code: 'invalid_api_key',
          },
        },
        { status: 401 },
      );
    }
    const body = (await request.json()) as { stream?: boolean };
    if (!body.stream) {
      return Response.json({
        id: 'chatcmpl-1',
        object: 'chat.completion',
        created: 1,
        model: 'fake-1',
        choices: [
          { index: 0, message: { role: 'assistant', content: ANSWER }, finish_reason: 'stop' },
        ],
      });
    }
    request.signal.addEventListener('abort', () => aborted.resolve(), { once: true });
    const encoder = new TextEncoder();
    let index = 0;
    return new Response(
      new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (index === gateAt) {
            atGate.resolve();
            await gate.promise;
          }
          if (mode === 'fail-mid-stream' && index === 3) {
            await failAfter;
            controller.error(new Error('upstream crashed'));
            return;
          }
          if (index < WORDS.length) {
            controller.enqueue(encoder.encode(`data: ${chunk(WORDS[index++])}\n\n`));
          } else {
            controller.enqueue(
              encoder.encode(`data: ${chunk(undefined, 'stop')}\n\ndata: [DONE]\n\n`),
            );
            controller.close();
          }
        },
      }),
      { headers: { 'content-type': 'text/event-stream' } },
    );
  });
  cleanup.push(() => server.close());
  return {
    server,
    get requests() {
      return requests;
    },
    atGate: atGate.promise,
    aborted: aborted.promise,
    release: gate.resolve,
  };
}

async function relay(engine: () => ReturnType<(typeof engines)['memory']>, target: Upstream) {
  const hub = createHub({ engine: engine() });
  const handler = createCompletionsRelay({
    hub,
    url: `${target.server.url}/v1/chat/completions`,
    headers: { authorization: 'Bearer upstream-key' },
  });
  const server = await serveWeb(handler);
  cleanup.push(
    () => hub.close(),
    () => server.close(),
  );
  return server;
}

const MESSAGES = [{ role: 'user' as const, content: 'Count' }];

describe.each(Object.entries(engines))('the completions relay on %s', (_name, engine) => {
  test('the openai SDK reads the answer; a resume by run id replays it without the upstream', async () => {
    const target = await upstream();
    const server = await relay(engine, target);
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'x', maxRetries: 0 });
    const { data: stream, response } = await client.chat.completions
      .create({ model: 'fake-1', stream: true, messages: MESSAGES })
      .withResponse();
    let text = '';
    for await (const part of stream) text += part.choices[0]?.delta?.content ?? '';
    expect(text).toBe(ANSWER);
    const runId = response.headers.get('ssekit-run-id')!;
    expect(runId).toMatch(/^[A-Za-z0-9_-]{22}$/);

    const again = await client.chat.completions.create(
      { model: 'fake-1', stream: true, messages: MESSAGES },
      { headers: { 'last-event-id': `${runId}.0` } },
    );
    let replayed = '';
    for await (const part of again) replayed += part.choices[0]?.delta?.content ?? '';
    expect(replayed).toBe(ANSWER);
    expect(target.requests).toBe(1);
  });

  test("ssekit's client resumes a cut after the last chunk; the upstream ran once", async () => {
    const target = await upstream({ gateAt: 4 });
    const server = await relay(engine, target);
    const stream = fetchEventStream(`${server.url}/v1/chat/completions`, {
      json: { model: 'fake-1', stream: true, messages: MESSAGES },
      retry: { initialDelayMs: 5 },
    });
    const ids: string[] = [];
    let text = '';
    let cut = false;
    for await (const event of stream) {
      ids.push(event.id);
      text += JSON.parse(event.data).choices[0]?.delta?.content ?? '';
      if (ids.length === 4 && !cut) {
        cut = true;
        await target.atGate;
        server.dropConnections();
        target.release();
      }
    }
    expect(text).toBe(ANSWER);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(WORDS.length + 1); // the words, then the finish chunk
    expect(target.requests).toBe(1);
    expect(server.requests).toBe(2);
  });

  test('stop() cancels the upstream request', async () => {
    const target = await upstream({ gateAt: 2 });
    const server = await relay(engine, target);
    const stream = fetchEventStream(`${server.url}/v1/chat/completions`, {
      json: { model: 'fake-1', stream: true, messages: MESSAGES },
    });
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next();
    await target.atGate;
    expect((await stream.stop()).outcome).toBe('cancelled');
    await target.aborted;
    expect(target.requests).toBe(1);
  });

  test('an upstream refusal is answered as it is; a mid-stream failure is an error chunk', async () => {
    const refusing = await upstream({ mode: 'unauthorized' });
    const refusingRelay = await relay(engine, refusing);
    const client = new OpenAI({ baseURL: `${refusingRelay.url}/v1`, apiKey: 'x', maxRetries: 0 });
    await expect(
      client.chat.completions.create({ model: 'fake-1', stream: true, messages: MESSAGES }),
    ).rejects.toMatchObject({ status: 401, code: 'invalid_api_key' });

    // The fake upstream's own server reports its crash: expected here.
    const log = vi.spyOn(console, 'error').mockImplementation(() => {});
    cleanup.push(() => log.mockRestore());
    const readThree = deferred();
    const failing = await upstream({ mode: 'fail-mid-stream', failAfter: readThree.promise });
    const failingRelay = await relay(engine, failing);
    const sdk = new OpenAI({ baseURL: `${failingRelay.url}/v1`, apiKey: 'x', maxRetries: 0 });
    const stream = await sdk.chat.completions.create({
      model: 'fake-1',
      stream: true,
      messages: MESSAGES,
    });
    let text = '';
    const read = async () => {
      for await (const part of stream) {
        text += part.choices[0]?.delta?.content ?? '';
        if (text === 't0 t1 t2 ') readThree.resolve();
      }
    };
    await expect(read()).rejects.toBeInstanceOf(OpenAI.APIError);
    expect(text).toBe('t0 t1 t2 ');
    const ssekit = fetchEventStream(`${failingRelay.url}/v1/chat/completions`, {
      json: { model: 'fake-1', stream: true, messages: MESSAGES },
    });
    const consume = async () => {
      for await (const _event of ssekit) {
        // to the error
      }
    };
    const error = await consume().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ServerError);
    expect((error as ServerError).message).toMatch(/upstream connection failed mid-stream/);
  });

  test('a request without stream: true is forwarded as it is', async () => {
    const target = await upstream();
    const server = await relay(engine, target);
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'x', maxRetries: 0 });
    const completion = await client.chat.completions.create({
      model: 'fake-1',
      messages: MESSAGES,
    });
    expect(completion.choices[0]?.message.content).toBe(ANSWER);
  });
});
