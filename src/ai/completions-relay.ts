/**
 * A resumable relay for OpenAI-compatible `/v1/chat/completions` streams: the upstream request
 * runs once, as a hub run detached from the client's request; its chunks reach the client as
 * they were (OpenAI's own wire format, each with an id), and any client resumes by id.
 */
import { terminalOf } from '../_internal/terminal.ts';
import { RequestError } from '../errors.ts';
import type { Hub } from '../hub/hub.ts';
import type { HubStreamOptions, RunWriter } from '../hub/types.ts';
import { createParser } from '../protocol/parser.ts';
import type { ServerSentEvent } from '../protocol/types.ts';
import { corsHeaders } from '../server/cors.ts';
import { readLastEventId } from '../server/create-event-stream.ts';
import { jsonErrorResponse } from '../server/json-error-response.ts';
import { readJsonBody } from '../server/read-json-body.ts';
import { chatCompletionsResponse } from './_run-response.ts';

/** The `fetch` the relay calls the upstream with. */
type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/** Options of {@link createCompletionsRelay}. */
export interface CompletionsRelayOptions {
  /** The hub the upstream requests run on. */
  hub: Hub;
  /** The upstream's Chat Completions URL (OpenAI, Groq, Together, vLLM, Ollama, LiteLLM, ...). */
  url: string;
  /**
   * Headers of the upstream request (`authorization`). A function gets the client's request (to
   * pick a key per user, say). The client's own headers are not forwarded.
   */
  headers?:
    | Record<string, string>
    | ((request: Request) => Record<string, string> | Promise<Record<string, string>>)
    | undefined;
  /**
   * Changes the client's body before it goes upstream (pin the model, cap `max_tokens`); throw a
   * `RequestError` to refuse it with a 400.
   */
  prepareBody?:
    | ((
        body: Record<string, unknown>,
        request: Request,
      ) => Record<string, unknown> | Promise<Record<string, unknown>>)
    | undefined;
  /** @default globalThis.fetch */
  fetch?: FetchLike | undefined;
  /** The streams' options (`maxDurationMs`, `heartbeatMs`, `cors`, `waitUntil`, ...). */
  streamOptions?: HubStreamOptions | undefined;
}

/**
 * Creates a handler for `POST /v1/chat/completions` that relays an OpenAI-compatible upstream
 * through a hub run:
 *
 * - a streaming request (`"stream": true`) calls the upstream once; the run stores each chunk as
 *   the upstream sent it, and the client reads them with ids (`<runId>.<n>`) and the response
 *   header `ssekit-run-id`, then `data: [DONE]`;
 * - the same request with `Last-Event-ID` (a chunk's id, or `<runId>.0` for the whole answer)
 *   resumes it on any instance, without calling the upstream again; with `ssekit-cancel: <runId>`
 *   it stops it (the upstream request is aborted);
 * - an upstream that answers with an error status is answered as it is (the `openai` SDK throws
 *   its `APIError`), before any run; an upstream that fails mid-stream, or sends an error chunk,
 *   ends the stream with an error chunk `{"error":{"message","type","code"}}`;
 * - a request without `"stream": true` is forwarded as it is.
 *
 * @example
 * ```ts
 * import { createCompletionsRelay } from 'ssekit/ai';
 * import { createHub } from 'ssekit/hub';
 *
 * export const POST = createCompletionsRelay({
 *   hub: createHub(),
 *   url: 'https://api.openai.com/v1/chat/completions',
 *   headers: { authorization: `Bearer ${process.env.OPENAI_API_KEY}` },
 * });
 * ```
 */
export function createCompletionsRelay(
  options: CompletionsRelayOptions,
): (request: Request) => Promise<Response> {
  const { hub, url, headers, prepareBody, streamOptions = {} } = options ?? {};
  if (typeof hub?.stream !== 'function') {
    throw new TypeError('createCompletionsRelay: pass { hub } (from createHub of ssekit/hub).');
  }
  if (typeof url !== 'string' || !/^https?:\/\//.test(url)) {
    throw new TypeError(
      `createCompletionsRelay: url must be the upstream's http(s) URL, got ${String(url)}.`,
    );
  }
  const fetchUpstream: FetchLike =
    options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const refuse = (request: Request, error: unknown) =>
    jsonErrorResponse(
      error,
      streamOptions.cors ? { headers: corsHeaders(request, streamOptions.cors) } : {},
    );

  return async (request) => {
    // A resume or a stop of a run: the hub's own, never the upstream.
    if (readLastEventId(request) !== '' || request.headers.has('ssekit-cancel')) {
      return chatCompletionsResponse(await hub.stream(request, refuseToStart, streamOptions));
    }
    let body: Record<string, unknown>;
    try {
      const json = await readJsonBody(request);
      if (typeof json !== 'object' || json === null || Array.isArray(json)) {
        throw new RequestError('bad-request', 'The body must be a JSON object.');
      }
      body = prepareBody
        ? await prepareBody(json as Record<string, unknown>, request)
        : (json as Record<string, unknown>);
    } catch (error) {
      return refuse(request, error);
    }
    const upstreamHeaders = new Headers(
      typeof headers === 'function' ? await headers(request) : headers,
    );
    upstreamHeaders.set('content-type', 'application/json');
    if (body.stream !== true) {
      // Not a stream: nothing to resume; forwarded, and ended with the client's request.
      return fetchUpstream(url, {
        method: 'POST',
        headers: upstreamHeaders,
        body: JSON.stringify(body),
        signal: request.signal,
      });
    }
    upstreamHeaders.set('accept', 'text/event-stream');
    // Detached from the client's request: only a cancel of the run (or hub.close) aborts it.
    const upstreamAbort = new AbortController();
    const upstream = await fetchUpstream(url, {
      method: 'POST',
      headers: upstreamHeaders,
      body: JSON.stringify(body),
      signal: upstreamAbort.signal,
    });
    const type = upstream.headers.get('content-type') ?? '';
    if (!upstream.ok || !type.startsWith('text/event-stream') || !upstream.body) {
      return upstream; // the upstream's own refusal (401, 400, 429 ...), as it is
    }
    const upstreamBody = upstream.body;
    return chatCompletionsResponse(
      await hub.stream(
        request,
        (run) => relayChunks(upstreamBody, upstreamAbort, run),
        streamOptions,
      ),
    );
  };
}

/** A resume never starts a run: the hub only calls this without `Last-Event-ID`. */
function refuseToStart(): never {
  throw new RequestError('bad-request', 'A resume cannot start a completion.');
}

/**
 * Stores each upstream chunk as it is, up to the upstream's end: `[DONE]`, the end of its body, or
 * an error chunk (stored too: every reader gets it). A failure of the upstream connection is
 * stored as an error chunk. A cancel of the run aborts the upstream request.
 */
async function relayChunks(
  body: ReadableStream<Uint8Array>,
  upstreamAbort: AbortController,
  run: RunWriter,
): Promise<void> {
  const onCancel = () => upstreamAbort.abort(run.signal.reason);
  run.signal.addEventListener('abort', onCancel, { once: true });
  if (run.signal.aborted) onCancel();
  const reader = body.getReader();
  const events: ServerSentEvent[] = [];
  const parser = createParser({ onEvent: (event) => events.push(event) });
  try {
    for (;;) {
      let next: ReadableStreamReadResult<Uint8Array>;
      try {
        next = await reader.read();
      } catch (error) {
        run.signal.throwIfAborted();
        await run.send({ data: upstreamFailure(error) });
        return;
      }
      if (next.done) return;
      parser.feed(next.value);
      for (const event of events.splice(0)) {
        const terminal = terminalOf(event);
        if (terminal?.kind === 'end' && !terminal.deliver) return; // [DONE]
        if (event.data !== '') await run.send({ data: event.data });
        if (terminal) return;
      }
    }
  } finally {
    run.signal.removeEventListener('abort', onCancel);
    reader.cancel().catch(() => {});
  }
}

function upstreamFailure(error: unknown): string {
  const cause = error instanceof Error ? `: ${error.message}` : '';
  return JSON.stringify({
    error: {
      message: `The upstream connection failed mid-stream${cause}`,
      type: 'upstream_error',
      code: 'upstream-error',
    },
  });
}
