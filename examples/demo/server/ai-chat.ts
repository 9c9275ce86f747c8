/**
 * The AI chat: the AI SDK's `streamText` on a scripted local model (or, with OPENAI_API_KEY, an
 * OpenAI-compatible endpoint: openai-model.ts), behind `createChatStreams` of
 * ssekit/ai. Each answer is a hub run: a reload mid-answer reconnects to it by chat id
 * (`GET /api/ai/chat/:id/stream`) and replays it from the log, without calling the model again;
 * Stop cancels it on the server, where the model's abort signal fires.
 *
 * | route | what |
 * | --- | --- |
 * | `POST /api/ai/chat` | `{ id, messages }` (what `useChat` sends): the answer, as a UI message stream |
 * | `GET /api/ai/chat/:id/stream` | the answer in progress (`useChat({ resume: true })`), or 204 |
 * | `GET /api/ai/chat/:id/messages` | the chat as stored: the messages, and each answer once it ended |
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type {
  LanguageModelV4,
  LanguageModelV4CallOptions,
  LanguageModelV4StreamPart,
} from '@ai-sdk/provider';
import { convertToModelMessages, streamText, type UIMessage } from 'ai';
import { createChatStreams } from '../../../src/ai/index.ts';
import { RequestError } from '../../../src/errors.ts';
import type { Hub, HubStreamOptions } from '../../../src/hub/index.ts';
import { jsonErrorResponse, readJsonBody } from '../../../src/server/index.ts';
import type { OpenAiOptions } from './chat.ts';
import { tokenize } from './fake-model.ts';
import { openAiCompatibleModel } from './openai-model.ts';
import type { RunRegistry } from './runs.ts';

const BODY = [
  'This answer comes from a scripted model inside the demo server, through the AI SDK: streamText calls it, and createChatStreams of ssekit/ai runs the answer as a hub run, detached from your request.',
  'Reload the page now. The answer does not start again and the model is not called again: after the reload, useChat asks the resume endpoint for the answer in progress, and the hub replays it from its log, then follows it live. The debug list of runs shows one model call per answer.',
  'The connection is also cut every few seconds, as a serverless platform would cut it; the transport resumes after the last chunk it delivered, so no word is shown twice and none is lost.',
  'Press Stop and the transport asks the server to cancel the run: the abort signal of the model call fires, the model stops producing tokens, and the answer ends where it was.',
];

/** The exact answer to a question. */
export function aiAnswer(question: string): string {
  const quoted = question.trim().replace(/\s+/g, ' ');
  const short = quoted.length > 80 ? `${quoted.slice(0, 77)}...` : quoted;
  return [`About "${short}":`, ...BODY].join('\n\n');
}

/** The text of the last user message of a model prompt. */
function lastQuestion(options: LanguageModelV4CallOptions): string {
  const user = options.prompt.findLast((message) => message.role === 'user');
  if (user?.role !== 'user') return '';
  return user.content.map((part) => (part.type === 'text' ? part.text : '')).join('');
}

/** Options of {@link scriptedModel}. */
export interface ScriptedModelOptions {
  /** The pause before each token. @default 35 */
  tokenDelayMs?: number;
  /** Called for each token produced (the demo counts them). */
  onToken?: () => void;
  /**
   * Awaited before token `index` when it returns a promise (tests hold the model mid-answer);
   * the call's abort signal still stops the model while it waits.
   */
  pace?: (index: number) => Promise<void> | undefined;
  /** Called once when the model's stream ends: finished, or the abort reason / error. */
  onEnd?: (error?: unknown) => void;
}

/**
 * A deterministic language model (the AI SDK's provider interface, v4): it streams
 * {@link aiAnswer} of the last user message token by token, one every `tokenDelayMs`, and stops
 * when the call's `abortSignal` fires. Any provider's model (`openai('gpt-5')`, ...) fits in its
 * place.
 */
export function scriptedModel(options: ScriptedModelOptions = {}): LanguageModelV4 {
  const delayMs = options.tokenDelayMs ?? 35;
  const usage = (output: number) => ({
    inputTokens: { total: 10, noCache: 10, cacheRead: 0, cacheWrite: 0 },
    outputTokens: { total: output, text: output, reasoning: 0 },
  });
  return {
    specificationVersion: 'v4',
    provider: 'ssekit-demo',
    modelId: 'scripted',
    supportedUrls: {},
    async doGenerate(call) {
      const text = aiAnswer(lastQuestion(call));
      return {
        content: [{ type: 'text', text }],
        finishReason: { unified: 'stop', raw: 'stop' },
        usage: usage(tokenize(text).length),
        warnings: [],
      };
    },
    async doStream(call) {
      const tokens = tokenize(aiAnswer(lastQuestion(call)));
      const signal = call.abortSignal ?? new AbortController().signal;
      let index = -1;
      let ended = false;
      const end = (error?: unknown) => {
        if (ended) return;
        ended = true;
        options.onEnd?.(error);
      };
      const stream = new ReadableStream<LanguageModelV4StreamPart>({
        async pull(controller) {
          try {
            if (index === -1) controller.enqueue({ type: 'text-start', id: 'answer' });
            else if (index < tokens.length) {
              await hold(options.pace?.(index), signal);
              await sleep(delayMs, undefined, { signal });
              controller.enqueue({ type: 'text-delta', id: 'answer', delta: tokens[index]! });
              options.onToken?.();
            } else {
              controller.enqueue({ type: 'text-end', id: 'answer' });
              controller.enqueue({
                type: 'finish',
                finishReason: { unified: 'stop', raw: 'stop' },
                usage: usage(tokens.length),
              });
              controller.close();
              end();
            }
            index++;
          } catch (error) {
            end(error);
            controller.error(error);
          }
        },
        cancel(reason) {
          end(reason ?? signal.reason);
        },
      });
      return { stream };
    },
  };
}

/** Waits for `paused` (if any), or rejects with the signal's reason when it aborts first. */
async function hold(paused: Promise<void> | undefined, signal: AbortSignal): Promise<void> {
  if (paused === undefined) return;
  signal.throwIfAborted();
  let onAbort = () => {};
  try {
    await Promise.race([
      paused,
      new Promise<never>((_, reject) => {
        onAbort = () => reject(signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
      }),
    ]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** What the AI chat needs. */
export interface AiChatOptions {
  hub: Hub;
  runs: RunRegistry;
  /** Options of every answer's response (deadline, retry hint, shutdown signal). */
  stream: HubStreamOptions;
  /** The model's pause per token. @default 35 */
  tokenDelayMs?: number;
  /** See {@link ScriptedModelOptions.pace}. */
  pace?: (index: number) => Promise<void> | undefined;
  /** Chats kept in memory (the demo's store). @default 200 */
  maxChats?: number;
  /** An OpenAI-compatible endpoint to answer with instead of the scripted model. */
  openai?: OpenAiOptions;
}

/** The AI chat's three handlers. */
export interface AiChatHandlers {
  stream(request: Request): Promise<Response>;
  resume(request: Request, chatId: string): Promise<Response>;
  messages(chatId: string): Response;
}

/** Creates the AI chat's handlers on `hub`. */
export function createAiChat(options: AiChatOptions): AiChatHandlers {
  const chat = createChatStreams({ hub: options.hub });
  // The app's store: a real app keeps chats in its database.
  const store = new Map<string, UIMessage[]>();
  const save = (chatId: string, messages: UIMessage[]) => {
    store.delete(chatId);
    store.set(chatId, messages);
    for (const oldest of store.keys()) {
      if (store.size <= (options.maxChats ?? 200)) break;
      store.delete(oldest);
    }
  };
  return {
    async stream(request) {
      let body: { id: string; messages: UIMessage[] };
      try {
        body = parseAiChatRequest(await readJsonBody(request, { maxBytes: 256 * 1024 }));
      } catch (error) {
        return jsonErrorResponse(error);
      }
      const { id, messages } = body;
      return chat.stream(request, {
        ...options.stream,
        chatId: id,
        // Once per answer: never for its resumes (the same request with Last-Event-ID), a
        // reload's GET, or its stop.
        execute: async ({ runId, signal }) => {
          save(id, messages);
          const run = options.runs.begin('ai-chat', { runId, signal }, { chatId: id });
          run.record.tokens = 0;
          const hooks = {
            onToken: () => {
              run.record.tokens = (run.record.tokens ?? 0) + 1;
            },
            onEnd: (error?: unknown) => run.end(signal.aborted ? signal.reason : error),
          };
          const model = options.openai
            ? openAiCompatibleModel(options.openai, hooks)
            : scriptedModel({
                ...(options.tokenDelayMs === undefined
                  ? {}
                  : { tokenDelayMs: options.tokenDelayMs }),
                ...(options.pace === undefined ? {} : { pace: options.pace }),
                ...hooks,
              });
          const result = streamText({
            model,
            messages: await convertToModelMessages(messages),
            abortSignal: signal,
          });
          return result.toUIMessageStream({
            originalMessages: messages,
            // Runs once, where the answer ends, whether or not anyone is connected.
            onFinish: ({ messages: all }) => save(id, all),
          });
        },
      });
    },
    resume: (request, chatId) => chat.resume(request, chatId, options.stream),
    messages: (chatId) => Response.json(store.get(chatId) ?? []),
  };
}

/** Validates `POST /api/ai/chat`, throwing a RequestError (400) that says what is wrong. */
export function parseAiChatRequest(body: unknown): { id: string; messages: UIMessage[] } {
  const { id, messages } = (body ?? {}) as { id?: unknown; messages?: unknown };
  if (typeof id !== 'string' || !/^[\w-]{1,64}$/.test(id)) {
    throw new RequestError('bad-request', 'id must be a chat id: 1 to 64 letters, digits, _ or -.');
  }
  if (!Array.isArray(messages) || messages.length === 0 || messages.length > 50) {
    throw new RequestError('bad-request', 'messages must be an array of 1 to 50 UI messages.');
  }
  for (const message of messages as Array<Partial<UIMessage> | null>) {
    if (
      (message?.role !== 'user' && message?.role !== 'assistant') ||
      typeof message.id !== 'string' ||
      !Array.isArray(message.parts)
    ) {
      throw new RequestError(
        'bad-request',
        'Each message must be a UI message: { id, role: "user" | "assistant", parts: [...] }.',
      );
    }
  }
  if ((messages.at(-1) as UIMessage).role !== 'user') {
    throw new RequestError('bad-request', "The last message must be the user's.");
  }
  return { id, messages: messages as UIMessage[] };
}
