import { HttpRequest, InvocationContext } from '@azure/functions';
import { describe, expect, test, vi } from 'vitest';
import { toAzureHandler } from '../../src/adapters/azure-functions.ts';
import { createEventStream, readJsonBody } from '../../src/server/index.ts';

const context = () => new InvocationContext({ invocationId: 'test', functionName: 'chat' });

async function bodyText(body: unknown): Promise<string> {
  return new Response(body as ReadableStream<Uint8Array>).text();
}

describe('toAzureHandler', () => {
  test('streams an event stream from an HttpRequest with a JSON body', async () => {
    const handler = toAzureHandler(async (request) => {
      const { prompt } = (await readJsonBody(request)) as { prompt: string };
      return createEventStream(request, async (stream) => {
        await stream.send({ event: 'token', data: prompt });
      });
    });
    const result = await handler(
      new HttpRequest({
        method: 'POST',
        url: 'http://localhost:7071/api/chat',
        headers: { 'content-type': 'application/json' },
        body: { string: '{"prompt":"hi"}' },
      }),
      context(),
    );
    expect(result.status).toBe(200);
    expect((result.headers as Headers).get('content-type')).toBe(
      'text/event-stream; charset=utf-8',
    );
    expect(await bodyText(result.body)).toBe('event: token\ndata: hi\n\nevent: done\ndata: {}\n\n');
  });

  test('a handler that throws gets a 500 JSON error, logged with context.error', async () => {
    const ctx = context();
    const log = vi.spyOn(ctx, 'error').mockImplementation(() => {});
    const handler = toAzureHandler(() => {
      throw new Error('db password wrong');
    });
    const result = await handler(new HttpRequest({ method: 'GET', url: 'http://h/api/chat' }), ctx);
    expect(result.status).toBe(500);
    expect(await bodyText(result.body)).toBe(
      '{"error":{"code":"internal-error","message":"Internal server error"}}',
    );
    expect(log).toHaveBeenCalledWith(
      'ssekit: request handler failed:',
      new Error('db password wrong'),
    );
  });

  test('an event-stream body that fails ends with an error event instead of an error', async () => {
    const onError = vi.fn();
    let pulls = 0;
    const handler = toAzureHandler(
      () =>
        new Response(
          new ReadableStream({
            pull(controller) {
              if (pulls++ === 0) controller.enqueue(new TextEncoder().encode('data: a\n\n'));
              else controller.error(new Error('socket hang up'));
            },
          }),
          { headers: { 'content-type': 'text/event-stream' } },
        ),
      { onError },
    );
    const result = await handler(new HttpRequest({ method: 'GET', url: 'http://h/s' }), context());
    expect(await bodyText(result.body)).toBe(
      'data: a\n\nevent: error\ndata: {"message":"Internal server error"}\n\n',
    );
    expect(onError).toHaveBeenCalledWith(new Error('socket hang up'), expect.anything());
  });
});
