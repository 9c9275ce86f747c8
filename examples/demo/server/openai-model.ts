/**
 * An OpenAI-compatible Chat Completions endpoint as an AI SDK language model (provider v4),
 * read with ssekit's own client: `fetchEventStream` POSTs the conversation once (a cut after the
 * first token is a typed error, never a second model call), knows `data: [DONE]`, and turns an
 * upstream `error` into a ServerError. The AI chat uses it when the demo has `openai` options
 * (OPENAI_API_KEY), so the answer is a hub run like the scripted one: reload-resume and Stop work
 * the same, and Stop aborts the upstream request.
 */
import type {
  LanguageModelV4,
  LanguageModelV4CallOptions,
  LanguageModelV4StreamPart,
} from '@ai-sdk/provider';
import { fetchEventStream } from '../../../src/client/index.ts';
import type { OpenAiOptions } from './chat.ts';

/** Hooks the demo counts tokens and model calls with. */
export interface ModelHooks {
  onToken?: () => void;
  onEnd?: (error?: unknown) => void;
}

/** The conversation in Chat Completions form: text parts joined, other parts left out. */
export function toChatMessages(
  prompt: LanguageModelV4CallOptions['prompt'],
): Array<{ role: 'system' | 'user' | 'assistant'; content: string }> {
  const out: Array<{ role: 'system' | 'user' | 'assistant'; content: string }> = [];
  for (const message of prompt) {
    if (message.role === 'system') out.push({ role: 'system', content: message.content });
    else if (message.role === 'user' || message.role === 'assistant') {
      const content = message.content
        .map((part) => (part.type === 'text' ? part.text : ''))
        .join('');
      out.push({ role: message.role, content });
    }
  }
  return out;
}

export function openAiCompatibleModel(
  openai: OpenAiOptions,
  hooks: ModelHooks = {},
): LanguageModelV4 {
  const baseUrl = (openai.baseUrl ?? 'https://api.openai.com/v1').replace(/\/+$/, '');
  const modelId = openai.model ?? 'gpt-4o-mini';
  const unsupported = (): never => {
    throw new Error('The demo streams: only doStream is implemented.');
  };
  return {
    specificationVersion: 'v4',
    provider: 'openai-compatible',
    modelId,
    supportedUrls: {},
    doGenerate: async () => unsupported(),
    async doStream(call) {
      const upstream = fetchEventStream(`${baseUrl}/chat/completions`, {
        json: { model: modelId, stream: true, messages: toChatMessages(call.prompt) },
        headers: { authorization: `Bearer ${openai.apiKey}` },
        ...(call.abortSignal ? { signal: call.abortSignal } : {}),
      });
      let ended = false;
      const end = (error?: unknown) => {
        if (ended) return;
        ended = true;
        hooks.onEnd?.(error);
      };
      let output = 0;
      const stream = new ReadableStream<LanguageModelV4StreamPart>({
        async start(controller) {
          controller.enqueue({ type: 'text-start', id: 'answer' });
          try {
            for await (const event of upstream) {
              const chunk = JSON.parse(event.data) as {
                choices?: Array<{ delta?: { content?: string | null } }>;
              };
              const delta = chunk.choices?.[0]?.delta?.content;
              if (!delta) continue;
              output++;
              hooks.onToken?.();
              controller.enqueue({ type: 'text-delta', id: 'answer', delta });
            }
            controller.enqueue({ type: 'text-end', id: 'answer' });
            controller.enqueue({
              type: 'finish',
              finishReason: { unified: 'stop', raw: 'stop' },
              usage: {
                inputTokens: {
                  total: undefined,
                  noCache: undefined,
                  cacheRead: undefined,
                  cacheWrite: undefined,
                },
                outputTokens: { total: output, text: output, reasoning: undefined },
              },
            });
            controller.close();
            end();
          } catch (error) {
            end(error);
            controller.error(error);
          }
        },
        cancel(reason) {
          upstream.close();
          end(reason);
        },
      });
      return { stream };
    },
  };
}
