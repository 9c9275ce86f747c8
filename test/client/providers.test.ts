/**
 * The client against byte-accurate streams in the wire formats of OpenAI (Chat Completions and
 * Responses), Anthropic, Gemini, the AI SDK and ssekit, over real sockets: exactly the events sent,
 * in order; the stream ends by itself (also when the server keeps the connection open after its
 * terminal event); exactly one request; provider error events become typed errors.
 */
import { describe, expect, test } from 'vitest';
import { defaultTerminal, fetchEventStream, type ServerSentEvent } from '../../src/client/index.ts';
import { ServerError, StreamError } from '../../src/index.ts';
import { serverPerTest, writeEventStreamHead } from '../helpers/http-server.ts';
import {
  ANTHROPIC_OVERLOADED,
  anthropic,
  openAiResponses,
  providerStreams,
  serveWire,
} from '../helpers/provider-streams.ts';

const servers = serverPerTest();
const { serve } = servers;
const fast = { initialDelayMs: 5, maxDelayMs: 10 };

async function collect(iterable: AsyncIterable<ServerSentEvent>): Promise<ServerSentEvent[]> {
  const events: ServerSentEvent[] = [];
  for await (const event of iterable) events.push(event);
  return events;
}

describe.each(providerStreams())('$name', (stream) => {
  test.each([
    ['POST', { json: { model: 'm', stream: true } }],
    ['GET', {}],
  ] as const)('%s: exactly the events sent, one request, then done', async (_method, request) => {
    const server = await serve(serveWire(stream));
    const closes: unknown[] = [];
    const events = await collect(
      fetchEventStream(server.url, {
        ...request,
        retry: fast,
        onClose: (info) => closes.push(info.reason),
      }),
    );
    expect(events).toEqual(stream.events);
    expect(closes).toEqual(['done']);
    expect(server.requests).toBe(1);
  });

  test('ends on its terminal event while the server holds the connection open', async () => {
    const server = await serve(serveWire(stream, { hold: true }));
    const events = await collect(fetchEventStream(server.url, { json: {}, retry: fast }));
    expect(events).toEqual(stream.events);
    expect(server.requests).toBe(1);
    await server.waitForAborts(1); // the client let go of the connection
  });

  test('the same bytes split at every 7th byte', async () => {
    const bytes = Buffer.from(stream.chunks.join(''));
    const chunks: Buffer[] = [];
    for (let offset = 0; offset < bytes.length; offset += 7)
      chunks.push(bytes.subarray(offset, offset + 7));
    const server = await serve(async (_req, res) => {
      res.writeHead(200, stream.headers);
      for (const chunk of chunks) await new Promise((resolve) => res.write(chunk, resolve));
      res.end();
    });
    expect(await collect(fetchEventStream(server.url, { json: {}, retry: fast }))).toEqual(
      stream.events,
    );
    expect(server.requests).toBe(1);
  });
});

describe('terminal events', () => {
  test('content-bearing terminal events are delivered, then iteration ends', async () => {
    const responses = openAiResponses();
    const server = await serve(serveWire(responses, { hold: true }));
    const events = await collect(fetchEventStream(server.url, { json: {} }));
    const last = events.at(-1)!;
    expect(last.type).toBe('response.completed');
    expect(JSON.parse(last.data).response.usage.total_tokens).toBe(48);
  });

  test('onClose gets the terminal event; a [DONE] marker is not yielded', async () => {
    const server = await serve((_req, res) => {
      writeEventStreamHead(res);
      res.write('data: {"n":1}\n\ndata: [DONE]\n\n'); // and holds the connection
    });
    const closes: unknown[] = [];
    const events = await collect(
      fetchEventStream(server.url, { onClose: (info) => closes.push(info) }),
    );
    expect(events).toEqual([{ type: 'message', data: '{"n":1}', id: '' }]);
    expect(closes).toEqual([
      { reason: 'done', event: { type: 'message', data: '[DONE]', id: '' } },
    ]);
  });

  test('Gemini: the chunk whose candidates carry finishReason ends the stream', async () => {
    const server = await serve((_req, res) => {
      writeEventStreamHead(res);
      res.write(
        'data: {"candidates": [{"content": {"parts": [{"text": "a"}],"role": "model"},"index": 0}]}\r\n\r\n' +
          'data: {"candidates": [{"content": {"parts": [{"text": "b"}],"role": "model"},"finishReason": "MAX_TOKENS","index": 0}]}\r\n\r\n' +
          'data: {"not":"read"}\r\n\r\n',
      );
    });
    const events = await collect(fetchEventStream(server.url, { json: {} }));
    expect(
      events.map((event) => JSON.parse(event.data).candidates[0].content.parts[0].text),
    ).toEqual(['a', 'b']);
  });

  test('users add a rule for their own format, keeping the known ones', async () => {
    const server = await serve((_req, res) => {
      writeEventStreamHead(res);
      res.write(
        'event: step\ndata: 1\n\nevent: agent.finished\ndata: {"ok":true}\n\nevent: step\ndata: 2\n\n',
      );
    });
    const closes: unknown[] = [];
    const events = await collect(
      fetchEventStream(server.url, {
        isTerminal: (event) =>
          event.type === 'agent.finished' ? { deliver: true } : defaultTerminal(event),
        onClose: (info) => closes.push(info.reason),
      }),
    );
    expect(events.map((event) => `${event.type}:${event.data}`)).toEqual([
      'step:1',
      'agent.finished:{"ok":true}',
    ]);
    expect(closes).toEqual(['done']);
  });

  test('users replace the rules: nothing is terminal, a [DONE] is an event like any', async () => {
    const server = await serve((_req, res) => {
      writeEventStreamHead(res);
      res.end('data: [DONE]\n\nevent: done\ndata: x\n\nevent: bye\ndata: y\n\n');
    });
    const events = await collect(fetchEventStream(server.url, { isTerminal: () => false }));
    expect(events.map((event) => event.data)).toEqual(['[DONE]', 'x', 'y']);
    const failing = fetchEventStream(server.url, {
      isTerminal: (event) => (event.type === 'bye' ? { error: new Error(event.data) } : false),
    });
    await expect(collect(failing)).rejects.toThrow('y');
  });
});

describe('provider error events', () => {
  test('Anthropic overloaded_error after tokens: a ServerError with its type and message, not re-run', async () => {
    const wire = anthropic(['Hel', 'lo']);
    const server = await serve(async (_req, res) => {
      res.writeHead(200, wire.headers);
      res.end(wire.chunks.slice(0, 5).join('') + ANTHROPIC_OVERLOADED);
    });
    const events: ServerSentEvent[] = [];
    const error = await (async () => {
      for await (const event of fetchEventStream(server.url, { json: {}, retry: fast }))
        events.push(event);
    })().catch((e: unknown) => e);
    expect(events).toEqual(wire.events.slice(0, 5));
    expect(ServerError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({
      code: 'server-error',
      message: 'Overloaded (overloaded_error)',
      type: 'overloaded_error',
      retryable: true,
      data: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } },
    });
    expect(server.requests).toBe(1);
  });

  test('Anthropic overloaded_error before any event: retried with backoff, like a 529', async () => {
    const wire = anthropic();
    let count = 0;
    const retries: unknown[] = [];
    const server = await serve(async (req, res) => {
      for await (const _ of req);
      res.writeHead(200, wire.headers);
      if (++count === 1) res.end(ANTHROPIC_OVERLOADED);
      else res.end(wire.chunks.join(''));
    });
    const events = await collect(
      fetchEventStream(server.url, {
        json: { model: 'claude' },
        retry: fast,
        onRetry: ({ error }) => retries.push(error),
      }),
    );
    expect(events).toEqual(wire.events);
    expect(server.requests).toBe(2);
    expect(retries).toHaveLength(1);
    expect((retries[0] as ServerError).type).toBe('overloaded_error');
  });

  test('a non-transient provider error is not retried, even before any event', async () => {
    const server = await serve((_req, res) => {
      writeEventStreamHead(res);
      res.end(
        'event: error\ndata: {"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: too large"}}\n\n',
      );
    });
    const error = await fetchEventStream(server.url, { json: {}, retry: fast }).finished.catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({
      message: 'max_tokens: too large (invalid_request_error)',
      type: 'invalid_request_error',
      retryable: false,
    });
    expect(server.requests).toBe(1);
  });

  test.each([
    [
      'OpenAI Chat: a chunk with `error`',
      'data: {"choices":[{"index":0,"delta":{"content":"a"}}]}\n\ndata: {"error":{"message":"The server had an error while processing your request.","type":"server_error","param":null,"code":null}}\n\n',
      'The server had an error while processing your request. (server_error)',
      'server_error',
    ],
    [
      'OpenAI Responses: event: error',
      'event: response.created\ndata: {"type":"response.created","sequence_number":0}\n\nevent: error\ndata: {"type":"error","code":"ERR_SOMETHING","message":"Something went wrong","param":null,"sequence_number":1}\n\n',
      'Something went wrong (ERR_SOMETHING)',
      'ERR_SOMETHING',
    ],
    [
      'OpenAI Responses: response.failed',
      'event: response.created\ndata: {"type":"response.created","sequence_number":0}\n\nevent: response.failed\ndata: {"type":"response.failed","sequence_number":1,"response":{"status":"failed","error":{"code":"server_error","message":"The model failed"}}}\n\n',
      'The model failed (server_error)',
      'server_error',
    ],
    [
      'Gemini: a chunk with `error`',
      'data: {"candidates": [{"content": {"parts": [{"text": "a"}],"role": "model"},"index": 0}]}\r\n\r\ndata: {"error": {"code": 503, "message": "The model is overloaded. Please try again later.", "status": "UNAVAILABLE"}}\r\n\r\n',
      'The model is overloaded. Please try again later. (UNAVAILABLE)',
      'UNAVAILABLE',
    ],
    [
      'AI SDK: an error part',
      'data: {"type":"start"}\n\ndata: {"type":"error","errorText":"Rate limited upstream"}\n\ndata: [DONE]\n\n',
      'Rate limited upstream',
      undefined,
    ],
    [
      'ssekit: event: error',
      'data: partial\n\nid: 9\nevent: error\ndata: {"message":"Model overloaded","code":"overloaded"}\n\n',
      'Model overloaded',
      'overloaded',
    ],
  ])('%s becomes a ServerError with the provider message', async (_name, body, message, type) => {
    const server = await serve((_req, res) => {
      writeEventStreamHead(res);
      res.write(body); // and holds the connection: the error event ends the stream
    });
    const error = await fetchEventStream(server.url, { json: {}, retry: fast }).finished.catch(
      (e: unknown) => e,
    );
    expect(ServerError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ message, type });
    expect(server.requests).toBe(1);
  });

  test('response.failed is delivered (it carries the response), then the stream fails', async () => {
    const server = await serve((_req, res) => {
      writeEventStreamHead(res);
      res.end(
        'event: response.failed\ndata: {"type":"response.failed","response":{"error":{"code":"server_error","message":"x"}}}\n\n',
      );
    });
    const seen: string[] = [];
    const error = await (async () => {
      for await (const event of fetchEventStream(server.url, { json: {}, retry: false }))
        seen.push(event.type);
    })().catch((e: unknown) => e);
    expect(seen).toEqual(['response.failed']);
    expect(ServerError.isInstance(error) && error.message).toBe('x (server_error)');
    expect(StreamError.isInstance(error)).toBe(false);
  });
});
