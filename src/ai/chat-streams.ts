/**
 * AI SDK chats on a hub: the UI message stream of each answer runs as a hub run, detached from
 * the request; every chunk is stored with an id; the chat id names the run in the engine, so a
 * resume by chat id works on any instance; stop cancels the model call wherever it runs.
 */
import { HubError, RequestError } from '../errors.ts';
import type { Hub } from '../hub/hub.ts';
import type { HubStreamOptions, RunWriter } from '../hub/types.ts';
import { corsHeaders } from '../server/cors.ts';
import { readLastEventId } from '../server/create-event-stream.ts';
import { jsonErrorResponse } from '../server/json-error-response.ts';
import { uiMessageResponse } from './_ui-message-response.ts';

/** One chunk of a UI message stream (`UIMessageChunk` of `ai`, typed by its shape). */
export interface UIMessageChunkLike {
  type: string;
}

/**
 * What an answer's `execute` returns: a UI message stream (`createUIMessageStream(...)`,
 * `streamText(...).toUIMessageStream()`), any async iterable of its chunks, or the result of
 * `streamText` itself (its `toUIMessageStream()` is called).
 */
export type UIMessageStreamSource =
  | ReadableStream<UIMessageChunkLike>
  | AsyncIterable<UIMessageChunkLike>
  | { toUIMessageStream(): ReadableStream<UIMessageChunkLike> | AsyncIterable<UIMessageChunkLike> };

/** What `execute` gets. */
export interface ChatRun {
  /** The chat the answer belongs to. */
  readonly chatId: string;
  /** The hub run's id (unguessable: it grants read access to the answer). */
  readonly runId: string;
  /**
   * Aborts when the answer is stopped (a client's stop, `chat.cancel`, from any instance) or the
   * hub closes; never when a reader disconnects. Pass it to the model call (`abortSignal`).
   */
  readonly signal: AbortSignal;
  /** The request that started the answer. */
  readonly request: Request;
}

/** Options of {@link ChatStreams.stream}. */
export interface ChatStreamOptions extends HubStreamOptions {
  /** The chat's id (the AI SDK sends it as `id` in the body). 1 to 256 characters. */
  chatId: string;
  /**
   * Starts the answer: called once per answer, never for a resume or a stop of it (those are the
   * same request again with `Last-Event-ID` or `ssekit-cancel`). Persist the user's message here.
   */
  execute: (run: ChatRun) => UIMessageStreamSource | Promise<UIMessageStreamSource>;
}

/** Options of {@link ChatStreams.resume}. */
export interface ChatResumeOptions extends Omit<HubStreamOptions, 'waitUntil'> {}

/** Options of {@link createChatStreams}. */
export interface ChatStreamsOptions {
  /** The hub the answers run on; its engine also keeps which answer each chat is streaming. */
  hub: Hub;
  /**
   * How long a chat's link to its answer is kept (match the hub's `runTtlMs`).
   * @default 3_600_000 (1 hour)
   */
  ttlMs?: number;
}

/** Resumable AI SDK chat answers on a hub. */
export interface ChatStreams {
  /**
   * Answers `POST /api/chat`: starts the answer (`execute`) as a hub run and streams it in the UI
   * message stream protocol; the same request with `Last-Event-ID` resumes it after that chunk,
   * with `ssekit-cancel` stops it (the model call's `abortSignal` fires, on any instance).
   */
  stream(request: Request, options: ChatStreamOptions): Promise<Response>;
  /**
   * Answers `GET /api/chat/:id/stream` (what `useChat({ resume: true })` calls after a reload):
   * the chat's answer in progress, from its first chunk (the page lost what it had), or `204` when
   * none is in progress. With `Last-Event-ID`, after that chunk; with `ssekit-cancel`, a stop.
   */
  resume(request: Request, chatId: string, options?: ChatResumeOptions): Promise<Response>;
  /** Stops the chat's answer in progress, wherever it runs: true if one was running. */
  cancel(chatId: string): Promise<boolean>;
  /** The run id of the chat's answer in progress, or undefined. */
  activeRunId(chatId: string): Promise<string | undefined>;
}

const MAX_CHAT_ID_LENGTH = 256;
const BAD_CHAT_ID_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;

const chatKey = (chatId: string): string => `ai:chat:${chatId}`;
const finishedKey = (runId: string): string => `ai:finished:${runId}`;

/**
 * Creates the chat endpoints of the AI SDK on a hub: answers survive reloads, cuts, platform
 * deadlines and instance changes without calling the model again, and stop cancels the model.
 *
 * @example
 * ```ts
 * import { createChatStreams } from 'ssekit/ai';
 * import { createHub } from 'ssekit/hub';
 * import { streamText, convertToModelMessages, type UIMessage } from 'ai';
 * import { model } from './model.ts';
 *
 * const chat = createChatStreams({ hub: createHub() });
 *
 * // app/api/chat/route.ts
 * export async function POST(request: Request) {
 *   const { id, messages } = (await request.json()) as { id: string; messages: UIMessage[] };
 *   return chat.stream(request, {
 *     chatId: id,
 *     execute: async ({ signal }) =>
 *       streamText({ model, messages: await convertToModelMessages(messages), abortSignal: signal }),
 *   });
 * }
 *
 * // app/api/chat/[id]/stream/route.ts
 * export const GET = async (request: Request, context: { params: Promise<{ id: string }> }) =>
 *   chat.resume(request, (await context.params).id);
 * ```
 */
export function createChatStreams(options: ChatStreamsOptions): ChatStreams {
  const { hub, ttlMs = 3_600_000 } = options ?? {};
  if (typeof hub?.stream !== 'function' || typeof hub.engine?.getValue !== 'function') {
    throw new TypeError('createChatStreams: pass { hub } (a hub from createHub of ssekit/hub).');
  }
  if (!(Number.isSafeInteger(ttlMs) && ttlMs > 0 && ttlMs < 2 ** 31)) {
    throw new TypeError(
      `createChatStreams: ttlMs must be a whole number of milliseconds from 1 to 2^31 - 1, got ${ttlMs}.`,
    );
  }
  const { engine } = hub;

  async function activeRunId(chatId: string): Promise<string | undefined> {
    const runId = await engine.getValue(chatKey(chatId));
    if (!runId || (await engine.getValue(finishedKey(runId))) !== undefined) return undefined;
    return runId;
  }

  async function produce(run: RunWriter, chatId: string, execute: ChatStreamOptions['execute']) {
    const { runId, signal } = run;
    await engine.setValue(chatKey(chatId), runId, ttlMs);
    try {
      const source = await execute({ chatId, runId, signal, request: run.request });
      await forEachChunk(source, signal, (chunk) => run.send({ data: chunk }));
      signal.throwIfAborted(); // a stopped answer ends as cancelled, whatever the stream did
    } finally {
      // Before the run's terminal event: a resume by chat id that reads the answer as finished
      // finds it complete in the application's store (its onFinish ran).
      await engine.setValue(finishedKey(runId), '1', ttlMs);
    }
  }

  return {
    async stream(request, { chatId, execute, ...streamOptions }) {
      if (typeof execute !== 'function') {
        throw new TypeError(
          'chat.stream: pass { chatId, execute }, execute returning a UI message stream.',
        );
      }
      const refused = chatIdProblem(request, chatId, streamOptions);
      if (refused) return refused;
      return uiMessageResponse(
        await hub.stream(request, (run) => produce(run, chatId, execute), streamOptions),
      );
    },

    async resume(request, chatId, resumeOptions = {}) {
      const refused = chatIdProblem(request, chatId, resumeOptions);
      if (refused) return refused;
      // A cut resume comes back with its Last-Event-ID; a stop with ssekit-cancel: the hub's own.
      if (readLastEventId(request) === '' && !request.headers.has('ssekit-cancel')) {
        const runId = await activeRunId(chatId);
        if (runId === undefined) {
          const headers = resumeOptions.cors ? corsHeaders(request, resumeOptions.cors) : undefined;
          return new Response(null, { status: 204, ...(headers ? { headers } : {}) });
        }
        const headers = new Headers(request.headers);
        headers.set('last-event-id', `${runId}.0`); // from the first chunk
        request = new Request(request, { headers });
      }
      return uiMessageResponse(await hub.stream(request, refuseToStart, resumeOptions));
    },

    async cancel(chatId) {
      const runId = await activeRunId(chatId);
      return runId !== undefined && (await hub.cancel(runId));
    },

    activeRunId,
  };
}

/** A resume never starts an answer: the hub only calls this without `Last-Event-ID`. */
function refuseToStart(): never {
  throw new HubError('run-expired', 'A resume cannot start an answer.');
}

function chatIdProblem(
  request: Request,
  chatId: unknown,
  options: Pick<HubStreamOptions, 'cors'>,
): Response | undefined {
  if (
    typeof chatId === 'string' &&
    chatId.length > 0 &&
    chatId.length <= MAX_CHAT_ID_LENGTH &&
    !BAD_CHAT_ID_CHARACTER.test(chatId)
  ) {
    return undefined;
  }
  const error = new RequestError(
    'bad-request',
    `Not a chat id: 1 to ${MAX_CHAT_ID_LENGTH} characters without control characters (got ${JSON.stringify(String(chatId).slice(0, 64))}).`,
  );
  return jsonErrorResponse(
    error,
    options.cors ? { headers: corsHeaders(request, options.cors) } : {},
  );
}

/**
 * Reads every chunk of `source` into `onChunk`, one at a time (each stored before the next is
 * read); stops reading (and cancels the source) when `signal` aborts.
 */
async function forEachChunk(
  source: UIMessageStreamSource,
  signal: AbortSignal,
  onChunk: (chunk: UIMessageChunkLike) => Promise<void>,
): Promise<void> {
  const stream = 'toUIMessageStream' in source ? source.toUIMessageStream() : source;
  const iterator = 'getReader' in stream ? readerIterator(stream) : stream[Symbol.asyncIterator]();
  // A source that waits for its next chunk does not hold a stopped answer open.
  let onAbort!: () => void;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => {});
  let complete = false;
  try {
    for (;;) {
      signal.throwIfAborted();
      const next = await Promise.race([iterator.next(), aborted]);
      if (next.done) {
        complete = true;
        return;
      }
      const chunk = next.value;
      if (typeof chunk !== 'object' || chunk === null || typeof chunk.type !== 'string') {
        throw new TypeError(
          `chat.stream: a UI message stream yields chunks like { type: 'text-delta', ... }, got ${JSON.stringify(chunk)?.slice(0, 64)}.`,
        );
      }
      await onChunk(chunk);
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    // Stopped or failed: the source is cancelled (a reader's pending read ends at once).
    if (!complete) void Promise.resolve(iterator.return?.()).catch(() => {});
  }
}

/** A ReadableStream as an iterator whose `return` cancels it (also in runtimes without async iteration of streams). */
function readerIterator<T>(stream: ReadableStream<T>): AsyncIterator<T> {
  const reader = stream.getReader();
  return {
    next: async () => {
      const { done, value } = await reader.read();
      return done ? { done: true, value: undefined } : { done: false, value };
    },
    return: async () => {
      await reader.cancel();
      return { done: true, value: undefined };
    },
  };
}
