import { isEventStreamType, readBodyStart } from '../_internal/http.ts';
import { type TerminalError, terminalOf } from '../_internal/terminal.ts';
import { ResponseError, ServerError } from '../errors.ts';
import { createParser } from '../protocol/parser.ts';
import type { ServerSentEvent } from '../protocol/types.ts';
import { Session } from './_session.ts';
import { eventStreamResponse, readLastEventId } from './create-event-stream.ts';
import { type EventStreamOptions, resolveEventStreamOptions } from './options.ts';
import { type PublicError, withPublicError } from './public-error.ts';
import type { EventStreamEvent, EventStreamWriter } from './types.ts';

/** What `map` returns: the event to send, or `null`/`undefined` to drop it. */
export type RelayMapResult = EventStreamEvent | null | undefined;

/** Options of {@link relayEventStream}: a mapping, the client's request, and the stream options. */
export interface RelayEventStreamOptions extends EventStreamOptions {
  /**
   * The client's request: when its `signal` aborts (the client left) the upstream is cancelled,
   * and `cors` needs its `Origin`. Cancelling the returned body does the same.
   */
  request?: Request;
  /**
   * Maps each upstream event to the event to send (`null` drops it). Without it, events pass
   * unchanged (type, data, id). The upstream's last event ID is forwarded whenever it changes,
   * unless the mapped event sets its own `id`. A `map` that throws ends the stream with `error`.
   */
  map?: (event: ServerSentEvent) => RelayMapResult | PromiseLike<RelayMapResult>;
}

/**
 * Forwards an upstream event stream (the `Response` of a `fetch`) to the client without buffering,
 * event by event as they arrive, optionally mapping each. The client gets the usual ssekit stream:
 * heartbeats, backpressure (the upstream is read only as fast as the client reads), the deadline,
 * and the terminal events:
 *
 * - `done` when the upstream ends or sends its terminal event: ssekit's `done`, OpenAI's
 *   `data: [DONE]` or `response.completed`, Anthropic's `message_stop`, Gemini's last chunk (the
 *   one with `finishReason`), the AI SDK's `finish` (those that carry content are forwarded
 *   first);
 * - `error` when the upstream answers with an error status or not with `text/event-stream`
 *   (`{"message":"The upstream service ...","code":"upstream-error"}`), fails mid-stream, or
 *   sends an error event: ssekit's `error` (whose message and code are forwarded), Anthropic's
 *   `event: error`, OpenAI's, Gemini's or the AI SDK's (message and type forwarded, the type as
 *   `code`). `onError` gets the real error.
 *
 * Upstream comments are not forwarded (the relay sends its own heartbeats); `retry:` is.
 *
 * @example
 * ```ts
 * import { relayEventStream } from 'ssekit/server';
 *
 * export async function POST(request: Request): Promise<Response> {
 *   const upstream = await fetch('https://api.openai.com/v1/chat/completions', {
 *     method: 'POST',
 *     headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
 *     body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages }),
 *     signal: request.signal,
 *   });
 *   return relayEventStream(upstream, {
 *     request,
 *     map: (event) => {
 *       const text = JSON.parse(event.data).choices[0]?.delta?.content;
 *       return text ? { event: 'token', data: text } : null;
 *     },
 *   });
 * }
 * ```
 */
export function relayEventStream(
  upstream: Response,
  options: RelayEventStreamOptions = {},
): Response {
  if (typeof upstream?.headers?.get !== 'function' || typeof upstream.status !== 'number') {
    throw new TypeError('relayEventStream: the first argument must be the upstream Response.');
  }
  if (options.map !== undefined && typeof options.map !== 'function') {
    throw new TypeError(`relayEventStream: map must be a function, got ${typeof options.map}.`);
  }
  const resolved = resolveEventStreamOptions(options);
  const { request, map } = options;
  const lastEventId = request ? readLastEventId(request) : '';
  const session = new Session({ request, options: resolved });
  void session.run((stream) => relay(upstream, stream, map), lastEventId);
  return eventStreamResponse(session);
}

async function relay(
  upstream: Response,
  stream: EventStreamWriter,
  map: RelayEventStreamOptions['map'],
): Promise<void> {
  if (!upstream.ok || !upstream.body || !isEventStreamType(upstream.headers.get('content-type'))) {
    throw await refused(upstream);
  }
  const reader = upstream.body.getReader();
  const cancelUpstream = () => cancelQuietly(reader, stream.signal.reason);
  stream.signal.addEventListener('abort', cancelUpstream, { once: true });
  const forwarder = createForwarder(stream, map);
  const pending: Array<ServerSentEvent | number> = [];
  const parser = createParser({
    onEvent: (event) => pending.push(event),
    onRetry: (ms) => pending.push(ms),
  });
  try {
    for (;;) {
      const chunk = await reader.read().catch((error: unknown) => {
        throw upstreamFailed(error);
      });
      if (chunk.done) return;
      parser.feed(chunk.value); // an oversized upstream event throws a ParseError: the relay fails
      for (const item of pending.splice(0)) {
        if (!(await forwarder(item))) {
          cancelQuietly(reader, undefined); // the upstream said it is done; do not wait for its close
          return;
        }
      }
    }
  } finally {
    stream.signal.removeEventListener('abort', cancelUpstream);
  }
}

// Returns false at the upstream's end marker.
function createForwarder(stream: EventStreamWriter, map: RelayEventStreamOptions['map']) {
  let lastId = '';
  return async (item: ServerSentEvent | number): Promise<boolean> => {
    if (typeof item === 'number') {
      await stream.send({ retry: item });
      return true;
    }
    // The terminal events of every known format (src/_internal/terminal.ts): one that carries
    // content (`response.completed`, Gemini's last chunk) is forwarded before the relay ends.
    const terminal = terminalOf(item);
    if (terminal?.deliver) await forward(item);
    if (terminal?.kind === 'error') throw upstreamReported(item, terminal.error);
    if (terminal) return false;
    await forward(item);
    return true;
  };

  async function forward(item: ServerSentEvent): Promise<void> {
    const mapped = map ? await map(item) : passThrough(item);
    if (mapped === null || mapped === undefined) return;
    const event =
      mapped.id === undefined && item.id !== lastId ? { ...mapped, id: item.id } : mapped;
    if (event.id !== undefined) lastId = String(event.id);
    await stream.send(event);
  }
}

function passThrough(event: ServerSentEvent): EventStreamEvent {
  return event.type === 'message' ? { data: event.data } : { event: event.type, data: event.data };
}

const UPSTREAM_FAILED: PublicError = {
  message: 'The upstream stream failed.',
  code: 'upstream-error',
};

async function refused(upstream: Response): Promise<ResponseError> {
  const contentType = upstream.headers.get('content-type');
  const body = await readBodyStart(upstream.body, 2048);
  const code = upstream.ok ? 'invalid-content-type' : 'http-error';
  const message = upstream.ok
    ? `The upstream ${upstream.url || 'response'} is not an event stream (content-type: ${contentType ?? 'none'}).`
    : `The upstream ${upstream.url || 'response'} responded with status ${upstream.status} ${upstream.statusText}.`;
  const error = new ResponseError(code, message, {
    status: upstream.status,
    statusText: upstream.statusText,
    headers: upstream.headers,
    body,
    method: 'unknown',
    url: upstream.url,
  });
  return withPublicError(error, {
    message: upstream.ok
      ? 'The upstream service did not answer with an event stream.'
      : `The upstream service answered with status ${upstream.status}.`,
    code: 'upstream-error',
  });
}

function upstreamFailed(error: unknown): object {
  const failure = typeof error === 'object' && error !== null ? error : new Error(String(error));
  return withPublicError(failure, UPSTREAM_FAILED);
}

// The upstream's error payload was public already: forward its message and code (a provider's
// error type: `overloaded_error`). A payload that is not a JSON object keeps the generic message.
function upstreamReported(event: ServerSentEvent, reported: TerminalError): ServerError {
  const structured = typeof reported.data === 'object' && reported.data !== null;
  const message =
    structured && reported.message !== '' ? reported.message : UPSTREAM_FAILED.message;
  const error = new ServerError(
    `The upstream sent an error event: ${message}`,
    reported.data,
    event.id,
    {
      type: reported.type,
      retryable: reported.retryable,
    },
  );
  const code = structured ? reported.type : undefined;
  return withPublicError(error, code === undefined ? { message } : { message, code });
}

// Cancelling an upstream that already failed rejects with that same failure, which the relay has
// reported (or which is the client leaving): nothing new to tell anyone.
function cancelQuietly(reader: ReadableStreamDefaultReader<Uint8Array>, reason: unknown): void {
  reader.cancel(reason).then(undefined, () => undefined);
}
