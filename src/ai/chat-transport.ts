/**
 * A `ChatTransport` for the AI SDK's `useChat` on ssekit's client: a cut connection resumes
 * after the last chunk it delivered (`Last-Event-ID`), never sending the messages again; a reload
 * reconnects to the answer in progress by chat id; `stop()` stops the answer on the server.
 */

import { type EventStream, fetchEventStream } from '../client/fetch-event-stream.ts';
import type { RetryOptions } from '../client/retry.ts';
import { defaultTerminal, type TerminalVerdict } from '../client/terminal.ts';
import type { FetchLike } from '../client/types.ts';
import type { ServerSentEvent } from '../protocol/types.ts';

/** Headers as the AI SDK passes them. */
type HeadersLike = Record<string, string> | Headers;

/** What `useChat` passes to `sendMessages` (the shape of `ai`'s own type). */
export interface SendMessagesOptions {
  trigger: 'submit-message' | 'regenerate-message';
  chatId: string;
  messageId: string | undefined;
  messages: unknown[];
  abortSignal: AbortSignal | undefined;
  headers?: HeadersLike | undefined;
  body?: object | undefined;
  metadata?: unknown;
}

/** What `useChat` passes to `reconnectToStream`. */
export interface ReconnectToStreamOptions {
  chatId: string;
  abortSignal?: AbortSignal | undefined;
  headers?: HeadersLike | undefined;
  body?: object | undefined;
  metadata?: unknown;
}

/**
 * A `ChatTransport` of `ai` by its shape. `Chunk` is `ai`'s `UIMessageChunk`, which this package
 * does not import (`ai` is an optional peer): `any` by default, so that a transport made apart
 * from `useChat` fits it; pass `UIMessageChunk` to read the chunks yourself with their types.
 */
// biome-ignore lint/suspicious/noExplicitAny: see above; `unknown` would not fit `useChat`.
export interface ResumableChatTransport<Chunk = any> {
  /** Reconnecting after a reload gives the answer from its first chunk: `useChat` starts over. */
  readonly resumeStreamIsReplay: true;
  sendMessages(options: SendMessagesOptions): Promise<ReadableStream<Chunk>>;
  reconnectToStream(options: ReconnectToStreamOptions): Promise<ReadableStream<Chunk> | null>;
}

/** Options of {@link createChatTransport}. */
export interface ChatTransportOptions {
  /** The chat endpoint (`chat.stream` of `ssekit/ai`). @default '/api/chat' */
  api?: string;
  /**
   * The URL of the resume endpoint of a chat (`chat.resume`).
   * @default (chatId) => `${api}/${encodeURIComponent(chatId)}/stream`, as the AI SDK's
   */
  resumeApi?: ((chatId: string) => string) | undefined;
  /** Headers of every request (a function is called per request). */
  headers?: HeadersLike | (() => HeadersLike | Promise<HeadersLike>) | undefined;
  /** Extra JSON properties of every request's body (a function is called per request). */
  body?: object | (() => object | Promise<object>) | undefined;
  /** The `credentials` of every request (`'include'` for cookies across origins). */
  credentials?: 'omit' | 'same-origin' | 'include' | undefined;
  /**
   * The body of a chat request. @default the AI SDK's: `{ ...body, id, messages, trigger, messageId }`
   */
  prepareBody?: ((options: SendMessagesOptions & { body: object }) => object) | undefined;
  /** @default globalThis.fetch */
  fetch?: FetchLike | undefined;
  /** Reconnection policy of `fetchEventStream` (resumes only, never a second answer). */
  retry?: RetryOptions | boolean | undefined;
  /** See `fetchEventStream`: a silent connection for this long counts as cut. @default 'auto' */
  idleTimeoutMs?: number | 'auto' | undefined;
  /**
   * What `useChat`'s abort (its `stop()`, also called when the component unmounts) does: `true`
   * stops the answer on the server (the model call is cancelled, on any instance); `false` only
   * closes the connection, and the answer completes on the server, resumable later.
   * @default true
   */
  stopOnAbort?: boolean | undefined;
}

/** Ends a UI message stream at `[DONE]`; its `error` chunks go to `useChat` like any chunk. */
function uiMessageTerminal(event: ServerSentEvent): TerminalVerdict {
  if (event.type === 'message') return event.data === '[DONE]';
  return defaultTerminal(event);
}

/**
 * Creates the transport of `useChat` for chat endpoints made with `createChatStreams`
 * (`ssekit/ai`). Within an answer, a cut connection resumes after the last chunk delivered (no
 * chunk twice, none missing, the messages are not sent again); after a reload,
 * `useChat({ resume: true })` reconnects to the answer in progress by chat id; `stop()` stops it on
 * the server.
 *
 * @example
 * ```tsx
 * import { useChat } from '@ai-sdk/react';
 * import { createChatTransport } from 'ssekit/ai/client';
 *
 * const transport = createChatTransport({ api: '/api/chat' });
 *
 * export function Chat({ id }: { id: string }) {
 *   const { messages, sendMessage, stop } = useChat({ id, transport, resume: true });
 *   return <button type="button" onClick={() => void stop()}>{messages.length}</button>;
 * }
 * ```
 */
// biome-ignore lint/suspicious/noExplicitAny: `ai`'s UIMessageChunk (see ResumableChatTransport).
export function createChatTransport<Chunk = any>(
  options: ChatTransportOptions = {},
): ResumableChatTransport<Chunk> {
  const {
    api = '/api/chat',
    resumeApi = (chatId: string) => `${api}/${encodeURIComponent(chatId)}/stream`,
    credentials,
    prepareBody,
    fetch,
    retry,
    idleTimeoutMs = 'auto',
    stopOnAbort = true,
  } = options;
  if (typeof api !== 'string' || api === '') {
    throw new TypeError(`createChatTransport: api must be a URL string, got ${String(api)}.`);
  }

  async function headersOf(extra: HeadersLike | undefined): Promise<Headers> {
    const base = typeof options.headers === 'function' ? await options.headers() : options.headers;
    const headers = new Headers(base);
    new Headers(extra).forEach((value, name) => {
      headers.set(name, value);
    });
    return headers;
  }

  function open(
    url: string,
    init: { method: string; headers: Headers; body?: string },
    abortSignal: AbortSignal | undefined,
  ) {
    return openChunks<Chunk>(
      (onOpen) =>
        fetchEventStream(url, {
          ...init,
          ...(credentials ? { credentials } : {}),
          fetch,
          retry,
          idleTimeoutMs,
          isTerminal: uiMessageTerminal,
          // A cut before the first chunk arrived resumes the answer from its start: the client
          // reads the run its response named (ssekit-run-id), never starting another one.
          onOpen,
        }),
      abortSignal,
      stopOnAbort,
    );
  }

  return {
    resumeStreamIsReplay: true,

    async sendMessages(request) {
      const extra = typeof options.body === 'function' ? await options.body() : options.body;
      const body = { ...extra, ...request.body };
      const json = prepareBody?.({ ...request, body }) ?? {
        ...body,
        id: request.chatId,
        messages: request.messages,
        trigger: request.trigger,
        messageId: request.messageId,
      };
      const headers = await headersOf(request.headers);
      headers.set('content-type', 'application/json');
      // The hub honours it: a message sent again after a failure before any response (the first
      // one may have arrived) reads the answer the first one started, never a second answer.
      if (!headers.has('idempotency-key')) headers.set('idempotency-key', randomKey());
      const init = { method: 'POST', headers, body: JSON.stringify(json) };
      const stream = await open(api, init, request.abortSignal);
      if (stream === null)
        throw new Error(`POST ${api} answered 204 No Content: no answer to read.`);
      return stream;
    },

    async reconnectToStream(request) {
      const headers = await headersOf(request.headers);
      return open(resumeApi(request.chatId), { method: 'GET', headers }, request.abortSignal);
    },
  };
}

/** 128 random bits in hex (`crypto.randomUUID` needs a secure context; this does not). */
function randomKey(): string {
  let key = '';
  for (const byte of crypto.getRandomValues(new Uint8Array(16)))
    key += byte.toString(16).padStart(2, '0');
  return key;
}

/**
 * Opens an event stream and resolves once it answered: with its chunks as a `ReadableStream`, or
 * `null` for a `204` (nothing to resume); rejects when the first response fails (as the AI SDK's
 * transports do, so `useChat` reports it). An abort stops the answer on the server
 * (`stopOnAbort`), also when it comes before the response named its run.
 */
function openChunks<Chunk>(
  start: (onOpen: () => void) => EventStream,
  abortSignal: AbortSignal | undefined,
  stopOnAbort: boolean,
): Promise<ReadableStream<Chunk> | null> {
  abortSignal?.throwIfAborted();
  let opened = false;
  let abortPending = false;
  const end = () => (stopOnAbort ? void stream.stop() : stream.close());
  const stream = start(() => {
    opened = true;
    if (abortPending) queueMicrotask(end);
  });
  const onAbort = () => {
    if (opened) end();
    else abortPending = true; // the run's id comes with the response: stop it then
  };
  abortSignal?.addEventListener('abort', onAbort, { once: true });
  const iterator = stream[Symbol.asyncIterator]();
  const first = iterator.next();
  return first.then(
    (result) => {
      if (result.done && !opened) {
        abortSignal?.removeEventListener('abort', onAbort);
        return null; // 204: no answer in progress
      }
      let pending: IteratorResult<ServerSentEvent> | undefined = result;
      return new ReadableStream<Chunk>({
        async pull(controller) {
          const next = pending ?? (await iterator.next());
          pending = undefined;
          if (next.done) {
            abortSignal?.removeEventListener('abort', onAbort);
            controller.close();
            return;
          }
          controller.enqueue(JSON.parse(next.value.data) as Chunk);
        },
        cancel() {
          abortSignal?.removeEventListener('abort', onAbort);
          if (abortSignal?.aborted) return; // onAbort stopped it
          stream.close();
        },
      });
    },
    (error: unknown) => {
      abortSignal?.removeEventListener('abort', onAbort);
      throw error;
    },
  );
}
