/**
 * `POST /api/chat`: the answer to a conversation as an event stream. With the fake model it is a
 * resumable hub run (cut at `maxDurationMs`, resumed with Last-Event-ID, cancellable); with an
 * OpenAI-compatible model it is a relay of the upstream stream.
 */
import { RequestError } from '../../../src/errors.ts';
import type { Hub } from '../../../src/hub/index.ts';
import {
  type EventStreamOptions,
  jsonErrorResponse,
  readJsonBody,
  relayEventStream,
} from '../../../src/server/index.ts';
import type { ChatMessage, ChatRequest } from '../shared.ts';
import { generateFakeAnswer } from './fake-model.ts';
import type { RunRegistry } from './runs.ts';

/** Where a real model lives; without it the fake model answers. */
export interface OpenAiOptions {
  apiKey: string;
  /** @default 'https://api.openai.com/v1' */
  baseUrl?: string;
  /** @default 'gpt-4o-mini' */
  model?: string;
}

/** What the chat endpoint needs. */
export interface ChatOptions {
  hub: Hub;
  runs: RunRegistry;
  /** The options of every chat response (deadline, retry hint, shutdown signal). */
  stream: EventStreamOptions;
  tokenDelayMs?: number;
  openai?: OpenAiOptions;
}

/** The chat handler. */
export function createChatHandler(options: ChatOptions): (request: Request) => Promise<Response> {
  return async (request) => {
    // A resume re-sends the body, but the run already knows the conversation: read it only once.
    const resuming = (request.headers.get('last-event-id') ?? '') !== '';
    let messages: ChatMessage[] = [];
    if (!resuming) {
      try {
        messages = parseChatRequest(await readJsonBody(request, { maxBytes: 64 * 1024 })).messages;
      } catch (error) {
        return jsonErrorResponse(error);
      }
    }
    if (options.openai) return relayOpenAi(request, messages, options.openai, options.stream);
    const { hub, runs, tokenDelayMs } = options;
    return hub.stream(
      request,
      (run) =>
        runs.track('chat', run, async () => {
          await run.send({ event: 'run', data: { runId: run.runId, model: 'fake' } });
          let tokens = 0;
          for await (const text of generateFakeAnswer(messages, {
            signal: run.signal,
            ...(tokenDelayMs === undefined ? {} : { tokenDelayMs }),
          })) {
            await run.send({ event: 'token', data: { text } });
            tokens++;
          }
          return { finishReason: 'stop', tokens };
        }),
      options.stream,
    );
  };
}

/** Validates `POST /api/chat`, throwing a RequestError (400) that says what is wrong. */
export function parseChatRequest(body: unknown): ChatRequest {
  const messages = (body as { messages?: unknown } | null)?.messages;
  if (!Array.isArray(messages) || messages.length === 0 || messages.length > 50) {
    throw new RequestError('bad-request', 'messages must be an array of 1 to 50 messages.');
  }
  for (const message of messages as Array<Partial<ChatMessage>>) {
    if (
      (message?.role !== 'user' && message?.role !== 'assistant') ||
      typeof message.content !== 'string' ||
      message.content.length > 4000
    ) {
      throw new RequestError(
        'bad-request',
        'Each message must be { role: "user" | "assistant", content: a string of at most 4000 characters }.',
      );
    }
  }
  if ((messages.at(-1) as ChatMessage).role !== 'user') {
    throw new RequestError('bad-request', "The last message must be the user's.");
  }
  return { messages: messages as ChatMessage[] };
}

async function relayOpenAi(
  request: Request,
  messages: ChatMessage[],
  openai: OpenAiOptions,
  stream: EventStreamOptions,
): Promise<Response> {
  const baseUrl = (openai.baseUrl ?? 'https://api.openai.com/v1').replace(/\/+$/, '');
  let upstream: Response;
  try {
    upstream = await fetch(`${baseUrl}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${openai.apiKey}` },
      body: JSON.stringify({ model: openai.model ?? 'gpt-4o-mini', stream: true, messages }),
      signal: request.signal,
    });
  } catch (error) {
    stream.onError?.(error);
    return Response.json(
      { error: { code: 'upstream-error', message: `The model at ${baseUrl} cannot be reached.` } },
      { status: 502 },
    );
  }
  // The relay's own deadline would cut a stream nobody can resume: a relay has no log.
  const { maxDurationMs: _notResumable, ...relayOptions } = stream;
  return relayEventStream(upstream, {
    ...relayOptions,
    request,
    map(event) {
      const delta = (
        JSON.parse(event.data) as { choices?: Array<{ delta?: { content?: unknown } }> }
      ).choices?.[0]?.delta?.content;
      return typeof delta === 'string' && delta !== ''
        ? { event: 'token', data: { text: delta } }
        : null;
    },
  });
}
