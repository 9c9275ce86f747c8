/**
 * A hub run's response, rewritten in the AI SDK's UI message stream protocol: the chunks are the
 * run's unnamed events (`id: <runId>.<n>` + `data: <chunk JSON>`, kept as they are), and the hub's
 * terminal events become what the AI SDK reads: `done` becomes `data: [DONE]` (after an `abort`
 * chunk when the run was cancelled), `error` an `error` chunk with the public message, then
 * `[DONE]`. Comments (heartbeats) and `retry:` hints (the deadline's "come back") pass through.
 * Every other response of the hub (a JSON refusal, a cancel's answer) is returned as it is.
 * @internal
 */
import { encodeComment, encodeEvent } from '../protocol/encode.ts';
import { createParser } from '../protocol/parser.ts';
import type { ServerSentEvent } from '../protocol/types.ts';

/** The headers the AI SDK sets on a UI message stream response. */
export const UI_MESSAGE_STREAM_HEADER = 'x-vercel-ai-ui-message-stream';

/** `data: [DONE]`, the end marker of the UI message stream protocol. */
const DONE = 'data: [DONE]\n\n';

/** A hub run's response in the UI message stream protocol (see the module comment). */
export function uiMessageResponse(response: Response): Response {
  const type = response.headers.get('content-type') ?? '';
  if (response.status !== 200 || !type.startsWith('text/event-stream') || !response.body) {
    return response;
  }
  const headers = new Headers(response.headers);
  headers.set(UI_MESSAGE_STREAM_HEADER, 'v1');
  headers.set('x-accel-buffering', 'no');
  return new Response(response.body.pipeThrough(uiMessageTransform()), {
    status: response.status,
    statusText: response.statusText,
    headers,
  });
}

function uiMessageTransform(): TransformStream<Uint8Array, Uint8Array> {
  const encoder = new TextEncoder();
  let output!: TransformStreamDefaultController<Uint8Array>;
  const write = (text: string) => output.enqueue(encoder.encode(text));
  const parser = createParser({
    onEvent: (event) => {
      const text = rewrite(event);
      if (text !== '') write(text);
    },
    onRetry: (retry) => write(encodeEvent({ retry })),
    onComment: (comment) => write(`${encodeComment(comment)}\n`),
  });
  return new TransformStream<Uint8Array, Uint8Array>({
    start(controller) {
      output = controller;
    },
    transform(chunk) {
      parser.feed(chunk);
    },
  });
}

/** One event of the hub's response as the UI message stream writes it ('' to drop it). */
function rewrite(event: ServerSentEvent): string {
  switch (event.type) {
    case 'message':
      return encodeEvent({ id: event.id, data: event.data });
    case 'done':
      return isCancelled(event.data)
        ? encodeEvent({ id: event.id, data: '{"type":"abort","reason":"cancelled"}' }) + DONE
        : DONE;
    case 'error':
      return (
        encodeEvent({
          id: event.id,
          data: JSON.stringify({ type: 'error', errorText: errorText(event.data) }),
        }) + DONE
      );
    default:
      return ''; // not a chunk (a `progress` event, say): the AI SDK would reject it
  }
}

function isCancelled(data: string): boolean {
  try {
    return (JSON.parse(data) as { cancelled?: unknown } | null)?.cancelled === true;
  } catch {
    return false;
  }
}

function errorText(data: string): string {
  try {
    const message = (JSON.parse(data) as { message?: unknown } | null)?.message;
    if (typeof message === 'string' && message !== '') return message;
  } catch {
    // not JSON: the text itself
    if (data !== '') return data;
  }
  return 'The response failed.';
}
