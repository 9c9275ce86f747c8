/**
 * A chat app for the ssekit/ai tests: the AI SDK's own test model (`MockLanguageModelV4` of
 * `ai/test`) streaming a scripted answer through `streamText`, behind `createChatStreams` on a real
 * hub, on a real socket. The model counts its calls and reports its abort signal; the test paces
 * it (`gate`: the model waits before the chunk at that index until released).
 */
import type { LanguageModelV4StreamPart } from '@ai-sdk/provider';
import { convertToModelMessages, streamText, type UIMessage } from 'ai';
import { MockLanguageModelV4 } from 'ai/test';
import { createChatStreams } from '../../src/ai/index.ts';
import type { Hub } from '../../src/hub/index.ts';
import type { TestServer } from '../helpers/http-server.ts';
import { deferred, serveWeb } from '../helpers/server-stream.ts';

export const WORDS: readonly string[] = Array.from({ length: 12 }, (_, index) => `w${index} `);
export const ANSWER: string = WORDS.join('');

export interface ScriptedModel {
  readonly model: MockLanguageModelV4;
  /** Model calls so far. */
  readonly calls: number;
  /** Resolves with the abort reason when a model call's abortSignal fires. */
  readonly aborted: Promise<unknown>;
  /** Resolves when the model reached the gate (it has streamed the words before it). */
  readonly atGate: Promise<void>;
  /** Lets the model go on past the gate. */
  release(): void;
}

/** A model that streams WORDS, pausing before word `gateAt` until released (never, by default). */
export function scriptedModel(gateAt = Number.POSITIVE_INFINITY): ScriptedModel {
  const aborted = deferred<unknown>();
  const atGate = deferred();
  const gate = deferred();
  const model = new MockLanguageModelV4({
    doStream: async ({ abortSignal }) => {
      abortSignal?.addEventListener('abort', () => aborted.resolve(abortSignal.reason), {
        once: true,
      });
      const parts: LanguageModelV4StreamPart[] = [
        { type: 'text-start', id: 't1' },
        ...WORDS.map(
          (delta): LanguageModelV4StreamPart => ({ type: 'text-delta', id: 't1', delta }),
        ),
        { type: 'text-end', id: 't1' },
        {
          type: 'finish',
          finishReason: { unified: 'stop', raw: 'stop' },
          usage: {
            inputTokens: { total: 3, noCache: 3, cacheRead: 0, cacheWrite: 0 },
            outputTokens: { total: WORDS.length, text: WORDS.length, reasoning: 0 },
          },
        },
      ];
      let index = 0;
      return {
        stream: new ReadableStream<LanguageModelV4StreamPart>({
          async pull(controller) {
            // text-start is index 0: word n is part n + 1.
            if (index === gateAt + 1) {
              atGate.resolve();
              await Promise.race([
                gate.promise,
                new Promise((_, reject) =>
                  abortSignal?.addEventListener('abort', () => reject(abortSignal.reason)),
                ),
              ]);
            }
            abortSignal?.throwIfAborted();
            const part = parts[index++];
            if (part) controller.enqueue(part);
            else controller.close();
          },
        }),
      };
    },
  });
  return {
    model,
    get calls() {
      return model.doStreamCalls.length;
    },
    aborted: aborted.promise,
    atGate: atGate.promise,
    release: gate.resolve,
  };
}

/**
 * The routes: POST /api/chat (chat.stream), GET /api/chat/:id/stream (chat.resume), and GET
 * /api/chat/:id/messages (the app's store: the messages each answer was started with).
 */
export function chatHandler(hub: Hub, model: ScriptedModel) {
  const chat = createChatStreams({ hub });
  const store = new Map<string, UIMessage[]>();
  return {
    chat,
    async handle(request: Request): Promise<Response> {
      const url = new URL(request.url);
      const resume = /^\/api\/chat\/([^/]+)\/stream$/.exec(url.pathname);
      if (resume && request.method === 'GET') {
        return chat.resume(request, decodeURIComponent(resume[1]!));
      }
      const stored = /^\/api\/chat\/([^/]+)\/messages$/.exec(url.pathname);
      if (stored) return Response.json(store.get(decodeURIComponent(stored[1]!)) ?? []);
      if (url.pathname === '/api/chat' && request.method === 'POST') {
        const { id, messages } = (await request.json()) as { id: string; messages: UIMessage[] };
        return chat.stream(request, {
          chatId: id,
          execute: async ({ signal }) => {
            store.set(id, messages);
            return streamText({
              model: model.model,
              messages: await convertToModelMessages(messages),
              abortSignal: signal,
            });
          },
        });
      }
      return new Response('not found', { status: 404 });
    },
  };
}

export async function serveChat(
  hub: Hub,
  model: ScriptedModel,
  other?: (request: Request) => Response | undefined,
): Promise<TestServer & { chat: ReturnType<typeof chatHandler>['chat'] }> {
  const { chat, handle } = chatHandler(hub, model);
  const server = await serveWeb((request) => other?.(request) ?? handle(request));
  return Object.assign(server, { chat });
}

export function userMessage(text: string, id = 'u1'): UIMessage {
  return { id, role: 'user', parts: [{ type: 'text', text }] };
}
