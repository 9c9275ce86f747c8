import { describe, expect, test, vi } from 'vitest';
import { ResponseError } from '../../src/errors.ts';
import { createEventStream, relayEventStream } from '../../src/server/index.ts';
import { deferred, serveWeb, textReader } from '../helpers/server-stream.ts';

const SSE = { 'content-type': 'text/event-stream' };

/** An upstream Response whose body is `parts`, then stays open unless `end`. */
function upstream(parts: string[], options: { end?: boolean; fail?: Error } = {}) {
  const cancelled = deferred<unknown>();
  let pulls = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      const part = parts[pulls++];
      if (part !== undefined) controller.enqueue(new TextEncoder().encode(part));
      else if (options.fail) controller.error(options.fail);
      else if (options.end !== false) controller.close();
      else return new Promise(() => {}); // stays open
    },
    cancel: (reason) => cancelled.resolve(reason),
  });
  return {
    response: new Response(body, { headers: SSE }),
    cancelled: cancelled.promise,
    pulls: () => pulls,
  };
}

describe('relayEventStream', () => {
  test('forwards events with their types and ids, retry too, and ends with done', async () => {
    const source = upstream([
      ': upstream comment\nretry: 5000\n\nid: 1\ndata: a\n\n',
      'event: token\ndata: b\n',
      '\ndata: c\nid: 2\n\ndata: d\n\n',
    ]);
    const relayed = relayEventStream(source.response);
    expect(await textReader(relayed.body).all()).toBe(
      'retry: 5000\n\nid: 1\ndata: a\n\nevent: token\ndata: b\n\nid: 2\ndata: c\n\ndata: d\n\n' +
        'event: done\ndata: {}\n\n',
    );
  });

  test('maps OpenAI chunks to token events, drops nulls, ends at [DONE] and cancels the upstream', async () => {
    const chunk = (content?: string) =>
      `data: ${JSON.stringify({ choices: [{ index: 0, delta: content === undefined ? {} : { content } }] })}\n\n`;
    const source = upstream([chunk('Hel'), chunk(), chunk('lo'), 'data: [DONE]\n\n'], {
      end: false,
    });
    const relayed = relayEventStream(source.response, {
      map: (event) => {
        const text = JSON.parse(event.data).choices[0]?.delta?.content;
        return typeof text === 'string' ? { event: 'token', data: text } : null;
      },
    });
    expect(await textReader(relayed.body).all()).toBe(
      'event: token\ndata: Hel\n\nevent: token\ndata: lo\n\nevent: done\ndata: {}\n\n',
    );
    await source.cancelled;
  });

  test('an ssekit upstream: its done ends, its error is forwarded', async () => {
    const done = upstream(['data: x\n\nevent: done\ndata: {"usage":1}\n\n'], { end: false });
    expect(await textReader(relayEventStream(done.response).body).all()).toBe(
      'data: x\n\nevent: done\ndata: {}\n\n',
    );
    const onError = vi.fn();
    const failed = upstream(['event: error\ndata: {"message":"Quota","code":"quota"}\n\n']);
    expect(await textReader(relayEventStream(failed.response, { onError }).body).all()).toBe(
      'event: error\ndata: {"message":"Quota","code":"quota"}\n\n',
    );
    expect(onError.mock.calls[0]![0]).toMatchObject({
      code: 'server-error',
      data: { message: 'Quota', code: 'quota' },
    });
  });

  test('an upstream error status becomes an error event; onError gets the ResponseError', async () => {
    const onError = vi.fn();
    const upstreamResponse = new Response('{"error":"rate limited by 10.1.2.3"}', {
      status: 429,
      statusText: 'Too Many Requests',
      headers: { 'content-type': 'application/json' },
    });
    const text = await textReader(relayEventStream(upstreamResponse, { onError }).body).all();
    expect(text).toBe(
      'event: error\ndata: {"message":"The upstream service answered with status 429.","code":"upstream-error"}\n\n',
    );
    const error = onError.mock.calls[0]![0] as ResponseError;
    expect(ResponseError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({
      code: 'http-error',
      status: 429,
      body: '{"error":"rate limited by 10.1.2.3"}',
    });
  });

  test('an upstream that is not an event stream becomes an error event', async () => {
    const onError = vi.fn();
    const html = new Response('<html>login</html>', { headers: { 'content-type': 'text/html' } });
    expect(await textReader(relayEventStream(html, { onError }).body).all()).toBe(
      'event: error\ndata: {"message":"The upstream service did not answer with an event stream.","code":"upstream-error"}\n\n',
    );
    expect(onError.mock.calls[0]![0]).toMatchObject({ code: 'invalid-content-type' });
  });

  test('an upstream that fails mid-stream ends the relay with an error event', async () => {
    const onError = vi.fn();
    const failure = new TypeError('terminated');
    const source = upstream(['data: a\n\n'], { fail: failure });
    expect(await textReader(relayEventStream(source.response, { onError }).body).all()).toBe(
      'data: a\n\nevent: error\ndata: {"message":"The upstream stream failed.","code":"upstream-error"}\n\n',
    );
    expect(onError).toHaveBeenCalledWith(failure);
  });

  test('a map that throws ends the relay with a safe error event', async () => {
    const onError = vi.fn();
    const source = upstream(['data: not json\n\n']);
    const relayed = relayEventStream(source.response, {
      onError,
      map: (event) => JSON.parse(event.data),
    });
    expect(await textReader(relayed.body).all()).toBe(
      'event: error\ndata: {"message":"Internal server error"}\n\n',
    );
    expect(onError.mock.calls[0]![0]).toBeInstanceOf(SyntaxError);
  });

  test('the client leaving cancels the upstream', async () => {
    const source = upstream(['data: a\n\n'], { end: false });
    const reader = textReader(relayEventStream(source.response).body);
    await reader.until('data: a\n\n');
    await reader.cancel(new Error('gone'));
    expect(await source.cancelled).toEqual(new Error('gone'));
  });

  test('the upstream is read at the pace of the client', async () => {
    const parts = Array.from(
      { length: 1000 },
      (_, index) => `data: ${'x'.repeat(1000)}${index}\n\n`,
    );
    const source = upstream(parts);
    const relayed = relayEventStream(source.response, {
      highWaterMark: 4096,
      maxBufferedBytes: 65_536,
    });
    const reader = relayed.body!.getReader();
    await reader.read();
    // Let the relay run as far as it can without the client reading: it stops at the high-water mark.
    for (let turn = 0; turn < 50; turn++) await new Promise((resolve) => setImmediate(resolve));
    expect(source.pulls()).toBeLessThan(20);
    await reader.cancel();
  });

  test('through real sockets: an upstream server sees the abort when the client leaves', async () => {
    const upstreamGone = deferred();
    const origin = await serveWeb((request) =>
      createEventStream(request, async (stream) => {
        stream.signal.addEventListener('abort', () => upstreamGone.resolve());
        for (let index = 0; !stream.signal.aborted; index++) {
          await stream.send({ id: index, data: `tick ${index}` });
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      }),
    );
    const edge = await serveWeb(async (request) => {
      const response = await fetch(`${origin.url}/ticks`, { signal: request.signal });
      return relayEventStream(response, { request });
    });
    try {
      const client = new AbortController();
      const response = await fetch(`${edge.url}/`, { signal: client.signal });
      const reader = textReader(response.body);
      await reader.until('id: 2\ndata: tick 2\n\n');
      client.abort();
      await upstreamGone.promise;
      await origin.waitForAborts(1);
    } finally {
      await edge.close();
      await origin.close();
    }
  });
});
