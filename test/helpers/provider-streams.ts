/**
 * Event streams in the wire formats of the servers people read, byte for byte as their docs show
 * them, with what a client must make of each: the events it yields, in order, and the text of its
 * token deltas.
 *
 * - OpenAI Chat Completions (`stream: true`, `stream_options.include_usage`): unnamed `data:`
 *   chunks, a usage chunk with empty `choices`, then `data: [DONE]`.
 * - OpenAI Responses: named events whose `type` repeats the event name, `sequence_number`, ending
 *   with `response.completed` and no `[DONE]`.
 * - Anthropic Messages: `message_start`, `content_block_*`, `ping`, `message_delta` (stop reason
 *   and usage), `message_stop`; errors as `event: error`.
 * - Gemini `streamGenerateContent?alt=sse`: unnamed chunks with CRLF line ends; the last one's
 *   candidate carries `finishReason`, and the response just ends.
 * - The AI SDK UI message stream (header `x-vercel-ai-ui-message-stream: v1`): typed JSON parts,
 *   `finish`, then `data: [DONE]`.
 * - ssekit's own: named events with ids, `event: done`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServerSentEvent } from '../../src/protocol/types.ts';

export interface WireStream {
  name: string;
  /** Response headers (the content type included). */
  headers: Record<string, string>;
  /** The body, one string per write. */
  chunks: string[];
  /** The events a client yields, in order (terminal markers like `[DONE]` excluded). */
  events: ServerSentEvent[];
  /** The concatenated text of the token deltas. */
  text: string;
}

const SSE = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' };

/** Named events `event: NAME\ndata: JSON\n\n`, where each JSON's `type` is its name. */
function named(
  payloads: Array<Record<string, unknown> & { type: string }>,
  json: (value: unknown) => string = JSON.stringify,
) {
  const chunks = payloads.map((payload) => `event: ${payload.type}\ndata: ${json(payload)}\n\n`);
  const events = payloads.map((payload) => ({ type: payload.type, data: json(payload), id: '' }));
  return { chunks, events };
}

/** Unnamed events `data: JSON` + line ends. */
function unnamed(payloads: unknown[], end = '\n\n') {
  const chunks = payloads.map((payload) => `data: ${JSON.stringify(payload)}${end}`);
  const events = payloads.map((payload) => ({
    type: 'message',
    data: JSON.stringify(payload),
    id: '',
  }));
  return { chunks, events };
}

// The spacing of Anthropic's documentation examples: `{"type": "ping"}`.
const spaced = (value: unknown) =>
  JSON.stringify(value).replace(/":/g, '": ').replace(/,"/g, ', "');

export function openAiChat(words: readonly string[] = ['Hello', '!', ' How', ' can I help?']) {
  const base = {
    id: 'chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT',
    object: 'chat.completion.chunk',
    created: 1741570283,
    model: 'gpt-4o-2024-08-06',
    service_tier: 'default',
    system_fingerprint: 'fp_fc9f1d7035',
  };
  const choice = (delta: object, finish: string | null) => ({
    ...base,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    usage: null,
  });
  const { chunks, events } = unnamed([
    choice({ role: 'assistant', content: '', refusal: null }, null),
    ...words.map((word) => choice({ content: word }, null)),
    choice({}, 'stop'),
    {
      ...base,
      choices: [],
      usage: { prompt_tokens: 9, completion_tokens: words.length, total_tokens: 9 + words.length },
    },
  ]);
  return {
    name: 'OpenAI Chat Completions',
    headers: SSE,
    chunks: [...chunks, 'data: [DONE]\n\n'],
    events,
    text: words.join(''),
  } satisfies WireStream;
}

export function openAiResponses(words: readonly string[] = ['Hi', ' there', '!']) {
  const text = words.join('');
  const item = 'msg_67c9fdcf37fc8190ba82116e33fb28c507b8b0ad4e5eb654';
  const response = (status: string, output: unknown[], usage: unknown) => ({
    id: 'resp_67c9fdcecf488190bdd9a0409de3a1ec07b8b0ad4e5eb654',
    object: 'response',
    created_at: 1741290958,
    status,
    error: null,
    incomplete_details: null,
    model: 'gpt-4.1-2025-04-14',
    output,
    parallel_tool_calls: true,
    text: { format: { type: 'text' } },
    usage,
  });
  const message = (status: string, content: unknown[]) => ({
    id: item,
    type: 'message',
    status,
    role: 'assistant',
    content,
  });
  const part = { type: 'output_text', text, annotations: [] };
  let sequence = 0;
  const event = <T extends { type: string }>(payload: T) => ({
    ...payload,
    sequence_number: sequence++,
  });
  const where = { item_id: item, output_index: 0, content_index: 0 };
  const { chunks, events } = named([
    event({ type: 'response.created', response: response('in_progress', [], null) }),
    event({ type: 'response.in_progress', response: response('in_progress', [], null) }),
    event({
      type: 'response.output_item.added',
      output_index: 0,
      item: message('in_progress', []),
    }),
    event({
      type: 'response.content_part.added',
      ...where,
      part: { type: 'output_text', text: '', annotations: [] },
    }),
    ...words.map((delta) =>
      event({ type: 'response.output_text.delta', ...where, delta, logprobs: [] }),
    ),
    event({ type: 'response.output_text.done', ...where, text, logprobs: [] }),
    event({ type: 'response.content_part.done', ...where, part }),
    event({
      type: 'response.output_item.done',
      output_index: 0,
      item: message('completed', [part]),
    }),
    event({
      type: 'response.completed',
      response: response('completed', [message('completed', [part])], {
        input_tokens: 37,
        output_tokens: 11,
        output_tokens_details: { reasoning_tokens: 0 },
        total_tokens: 48,
      }),
    }),
  ]);
  return { name: 'OpenAI Responses', headers: SSE, chunks, events, text } satisfies WireStream;
}

export function anthropic(words: readonly string[] = ['Hello', '!', ' How are you?']) {
  const { chunks, events } = named(
    [
      {
        type: 'message_start',
        message: {
          id: 'msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY',
          type: 'message',
          role: 'assistant',
          content: [],
          model: 'claude-sonnet-4-5-20250929',
          stop_reason: null,
          stop_sequence: null,
          usage: { input_tokens: 25, output_tokens: 1 },
        },
      },
      { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
      { type: 'ping' },
      ...words.map((text) => ({
        type: 'content_block_delta',
        index: 0,
        delta: { type: 'text_delta', text },
      })),
      { type: 'content_block_stop', index: 0 },
      {
        type: 'message_delta',
        delta: { stop_reason: 'end_turn', stop_sequence: null },
        usage: { output_tokens: 15 },
      },
      { type: 'message_stop' },
    ],
    spaced,
  );
  return {
    name: 'Anthropic Messages',
    headers: { ...SSE, 'request-id': 'req_018EeWyXxfu5pfWkrYcMdjWG' },
    chunks,
    events,
    text: words.join(''),
  } satisfies WireStream;
}

/** Anthropic's error event, as its docs show it. */
export const ANTHROPIC_OVERLOADED =
  'event: error\ndata: {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}\n\n';

export function gemini(words: readonly string[] = ['The', ' sky is', ' blue.']) {
  const chunk = (text: string, last: boolean) => ({
    candidates: [
      {
        content: { parts: [{ text }], role: 'model' },
        ...(last ? { finishReason: 'STOP' } : {}),
        index: 0,
      },
    ],
    usageMetadata: last
      ? { promptTokenCount: 9, candidatesTokenCount: 5, totalTokenCount: 14 }
      : { promptTokenCount: 9, totalTokenCount: 9 },
    modelVersion: 'gemini-2.0-flash',
    ...(last ? { responseId: 'AXJnaOrZBsWOz7IPj5e6sQ0' } : {}),
  });
  // Gemini ends each line with CRLF.
  const { chunks, events } = unnamed(
    words.map((text, index) => chunk(text, index === words.length - 1)),
    '\r\n\r\n',
  );
  return {
    name: 'Gemini streamGenerateContent?alt=sse',
    headers: { 'content-type': 'text/event-stream', 'x-content-type-options': 'nosniff' },
    chunks,
    events,
    text: words.join(''),
  } satisfies WireStream;
}

export function aiSdkUi(words: readonly string[] = ['Hello', ', ', 'world!']) {
  const { chunks, events } = unnamed([
    { type: 'start', messageId: 'msg-Zd4kjYT7c1kC2YdBQb2Zl5Vy' },
    { type: 'start-step' },
    { type: 'text-start', id: 'txt-0' },
    ...words.map((delta) => ({ type: 'text-delta', id: 'txt-0', delta })),
    { type: 'text-end', id: 'txt-0' },
    { type: 'finish-step' },
    { type: 'finish' },
  ]);
  return {
    name: 'AI SDK UI message stream',
    headers: {
      ...SSE,
      connection: 'keep-alive',
      'x-vercel-ai-ui-message-stream': 'v1',
      'x-accel-buffering': 'no',
    },
    chunks: [...chunks, 'data: [DONE]\n\n'],
    events,
    text: words.join(''),
  } satisfies WireStream;
}

export function ssekitTokens(words: readonly string[] = ['Server', '-sent', ' events']) {
  const chunks = words.map(
    (text, index) => `event: token\nid: ${index + 1}\ndata: ${JSON.stringify({ text })}\n\n`,
  );
  const events = words.map((text, index) => ({
    type: 'token',
    data: JSON.stringify({ text }),
    id: String(index + 1),
  }));
  return {
    name: 'ssekit',
    headers: SSE,
    chunks: [...chunks, `event: done\nid: ${words.length}\ndata: {}\n\n`],
    events,
    text: words.join(''),
  } satisfies WireStream;
}

/** Every format, for `test.each`. */
export function providerStreams(): WireStream[] {
  return [openAiChat(), openAiResponses(), anthropic(), gemini(), aiSdkUi(), ssekitTokens()];
}

/**
 * A node:http handler that writes `stream` one chunk per write, letting each reach the socket.
 * `hold`: keep the response open after the last chunk (the client must end on the terminal event
 * by itself), until the client leaves.
 */
export function serveWire(stream: WireStream, options: { hold?: boolean } = {}) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    for await (const _ of req); // the request body, read in full as real servers do
    res.writeHead(200, stream.headers);
    for (const chunk of stream.chunks) {
      await new Promise<void>((resolve) => res.write(chunk, () => resolve()));
    }
    if (!options.hold) res.end();
  };
}
