/**
 * Contracts end to end: the server's send checked against the contract, the client's events
 * parsed and validated, with zod and valibot (both implement Standard Schema), over real
 * `createEventStream` responses read by `fetchContractStream`.
 */
import * as v from 'valibot';
import { describe, expect, test, vi } from 'vitest';
import { z } from 'zod';
import { fetchContractStream } from '../../src/client/index.ts';
import { defineContract } from '../../src/contract/index.ts';
import { ContractError, ServerError } from '../../src/index.ts';
import { createEventStream, eventStreamHandler } from '../../src/server/index.ts';

const chat = defineContract({
  token: z.object({ text: z.string() }),
  usage: z.object({ inputTokens: z.number().int(), outputTokens: z.number().int() }),
  note: z.string(),
  done: z.object({ finishReason: z.enum(['stop', 'length']) }),
});

/** The same events, without `done`: producers that return nothing. */
const loose = defineContract({
  token: chat.events.token,
  usage: chat.events.usage,
  note: chat.events.note,
});

/** A fetch that answers in process with `handler`. */
const inProcess =
  (handler: (request: Request) => Response | Promise<Response>) =>
  async (input: string | URL | Request, init?: RequestInit) =>
    handler(new Request(input, init));

const read = async (response: Response) => await response.text();

describe('server: send is checked against the contract', () => {
  test('valid events go out; strings stay readable, ambiguous ones go as JSON', async () => {
    const response = createEventStream(
      new Request('http://x/'),
      async (stream) => {
        await stream.send({ event: 'token', data: { text: 'Hel' } });
        await stream.send({ event: 'note', data: 'plain words' });
        await stream.send({ event: 'note', data: '42' });
        await stream.send({ event: 'note', data: 'two\r\nlines' });
        return { finishReason: 'stop' as const };
      },
      { contract: chat, heartbeatMs: 0 },
    );
    expect(await read(response)).toBe(
      [
        'event: token\ndata: {"text":"Hel"}\n\n',
        'event: note\ndata: plain words\n\n',
        'event: note\ndata: "42"\n\n',
        'event: note\ndata: "two\\r\\nlines"\n\n',
        'event: done\ndata: {"finishReason":"stop"}\n\n',
      ].join(''),
    );
  });

  test('a violation fails the producer: onError gets a ContractError, the client a safe error', async () => {
    const onError = vi.fn();
    const response = createEventStream(
      new Request('http://x/'),
      async (stream) => {
        await stream.send({ event: 'token', data: { text: 'ok' } });
        // @ts-expect-error text must be a string
        await stream.send({ event: 'token', data: { text: 42 } });
      },
      { contract: loose, heartbeatMs: 0, onError },
    );
    expect(await read(response)).toBe(
      'event: token\ndata: {"text":"ok"}\n\nevent: error\ndata: {"message":"Internal server error"}\n\n',
    );
    const error = onError.mock.calls[0]![0] as ContractError;
    expect(ContractError.isInstance(error)).toBe(true);
    expect(error.code).toBe('contract-violation');
    expect(error.event).toBe('token');
    expect(error.data).toEqual({ text: 42 });
    expect(error.issues[0]?.path).toEqual(['text']);
    expect(error.message).toMatch(/^Event "token" does not match the contract: text: .+\.$/);
  });

  test('an event the contract does not list is refused by send, synchronously', () => {
    const thrown: unknown[] = [];
    const response = createEventStream(
      new Request('http://x/'),
      (stream) => {
        try {
          // @ts-expect-error not in the contract
          void stream.send({ event: 'tokens', data: { text: 'a' } });
        } catch (error) {
          thrown.push(error);
        }
      },
      { contract: loose, heartbeatMs: 0, onError: () => {} },
    );
    expect((thrown[0] as ContractError).message).toBe(
      'Event "tokens" is not in the contract (its events: token, usage, note).',
    );
    return response.body?.cancel();
  });

  test('done and error are the server own: send refuses them with the fix', () => {
    const checked = async () => {
      const errors: unknown[] = [];
      const response = createEventStream(
        new Request('http://x/'),
        (stream) => {
          // @ts-expect-error done is reserved
          void stream.send({ event: 'done', data: { finishReason: 'stop' } });
        },
        { contract: loose, heartbeatMs: 0, onError: (error) => errors.push(error) },
      );
      await read(response);
      return errors;
    };
    return checked().then(([error]) => {
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toBe(
        'send: "done" is written by the server: return its payload from the producer instead of sending it.',
      );
    });
  });

  test('the result is checked against done', async () => {
    const onError = vi.fn();
    // @ts-expect-error finishReason must be stop or length
    const response = createEventStream(
      new Request('http://x/'),
      async () => ({ finishReason: 'tired' as const }),
      { contract: chat, heartbeatMs: 0, onError },
    );
    expect(await read(response)).toBe(
      'event: error\ndata: {"message":"Internal server error"}\n\n',
    );
    expect((onError.mock.calls[0]![0] as ContractError).event).toBe('done');
  });

  test('what a generator yields is checked too', async () => {
    const onError = vi.fn();
    const response = createEventStream(
      new Request('http://x/'),
      async function* () {
        yield { event: 'note' as const, data: 'a' };
        yield { event: 'usage' as const, data: { inputTokens: 1.5, outputTokens: 2 } };
        return { finishReason: 'stop' as const };
      },
      { contract: chat, heartbeatMs: 0, onError },
    );
    expect(await read(response)).toBe(
      'event: note\ndata: a\n\nevent: error\ndata: {"message":"Internal server error"}\n\n',
    );
    expect((onError.mock.calls[0]![0] as ContractError).issues[0]?.path).toEqual(['inputTokens']);
  });

  test("validate: 'never' checks names, not data", async () => {
    const response = createEventStream(
      new Request('http://x/'),
      async (stream) => {
        await stream.send({ event: 'token', data: { text: 1 } as never });
        return { finishReason: 'tired' } as never;
      },
      { contract: chat, heartbeatMs: 0, validate: 'never' },
    );
    expect(await read(response)).toBe(
      'event: token\ndata: {"text":1}\n\nevent: done\ndata: {"finishReason":"tired"}\n\n',
    );
  });

  test('a contract that is not one, or a bad validate, is a TypeError at once', () => {
    expect(() =>
      createEventStream(new Request('http://x/'), [] as never, { contract: {} as never }),
    ).toThrow('createEventStream: contract must be made by defineContract() from ssekit/contract.');
    expect(() =>
      createEventStream(new Request('http://x/'), [] as never, {
        contract: chat,
        validate: 'development' as never,
      }),
    ).toThrow("createEventStream: validate must be 'always' or 'never', got development.");
  });
});

describe('client: events parsed and validated', () => {
  const server = inProcess((request) =>
    createEventStream(
      request,
      async (stream) => {
        await stream.send({ event: 'token', id: '1', data: { text: 'Hel' } });
        await stream.send({ event: 'note', id: '2', data: '42' });
        await stream.send({ event: 'token', id: '3', data: { text: 'lo' } });
        return { finishReason: 'stop' as const };
      },
      { contract: chat, heartbeatMs: 0 },
    ),
  );

  test('the iterator yields typed events; result is the done payload', async () => {
    const stream = fetchContractStream('http://x/chat', { contract: chat, fetch: server });
    const seen: unknown[] = [];
    for await (const event of stream) {
      if (event.type === 'token') seen.push(event.data.text);
      else if (event.type === 'note') seen.push(event.data);
    }
    expect(seen).toEqual(['Hel', '42', 'lo']);
    expect(await stream.result).toEqual({ finishReason: 'stop' });
    expect(stream.lastEventId).toBe('3');
  });

  test('callbacks get the same typed events', async () => {
    const events: unknown[] = [];
    const stream = fetchContractStream('http://x/chat', {
      contract: chat,
      fetch: server,
      onEvent: (event) => events.push(event),
    });
    await stream.finished;
    expect(events).toEqual([
      { type: 'token', data: { text: 'Hel' }, id: '1' },
      { type: 'note', data: '42', id: '2' },
      { type: 'token', data: { text: 'lo' }, id: '3' },
    ]);
  });

  const liar = inProcess(
    () =>
      new Response(
        'event: token\ndata: {"text":"a"}\n\nevent: token\nid: 9\ndata: {"txt":"b"}\n\n',
        {
          headers: { 'content-type': 'text/event-stream' },
        },
      ),
  );

  test('a mismatch fails the stream with a ContractError; the bad event never reaches the loop', async () => {
    const onEvent = vi.fn();
    const onClose = vi.fn();
    const stream = fetchContractStream('http://x/', {
      contract: chat,
      fetch: liar,
      onClose,
    });
    const texts: string[] = [];
    const failure = await (async () => {
      for await (const event of stream) if (event.type === 'token') texts.push(event.data.text);
    })().catch((error: unknown) => error);
    expect(texts).toEqual(['a']);
    expect(ContractError.isInstance(failure)).toBe(true);
    expect((failure as ContractError).event).toBe('token');
    expect((failure as ContractError).id).toBe('9');
    expect((failure as ContractError).message).toMatch(
      /^Event "token" \(id 9\) does not match the contract: text: /,
    );
    await expect(stream.finished).rejects.toBe(failure);
    expect(onClose).toHaveBeenCalledWith({ reason: 'error', error: failure });
    expect(onEvent).not.toHaveBeenCalled();
  });

  test('with onEvent: the callback never sees the bad event; finished rejects', async () => {
    const onEvent = vi.fn();
    const stream = fetchContractStream('http://x/', { contract: chat, fetch: liar, onEvent });
    await expect(stream.finished).rejects.toThrow(ContractError);
    expect(onEvent.mock.calls).toEqual([[{ type: 'token', data: { text: 'a' }, id: '' }]]);
  });

  test('unknown events: an error by default, skipped with unknownEvents: ignore', async () => {
    const body = 'event: surprise\ndata: {}\n\nevent: note\ndata: hi\n\n';
    const fetch = inProcess(
      () => new Response(body, { headers: { 'content-type': 'text/event-stream' } }),
    );
    const strict = fetchContractStream('http://x/', { contract: chat, fetch });
    await expect(strict.finished).rejects.toThrow(
      'Event "surprise" is not in the contract (its events: token, usage, note).',
    );
    const lenient = defineContract({ note: v.string() }, { unknownEvents: 'ignore' });
    const seen: unknown[] = [];
    for await (const event of fetchContractStream('http://x/', { contract: lenient, fetch }))
      seen.push(event);
    expect(seen).toEqual([{ type: 'note', data: 'hi', id: '' }]);
  });

  test("validate: 'never' parses without checking", async () => {
    const stream = fetchContractStream('http://x/', {
      contract: chat,
      fetch: liar,
      validate: 'never',
    });
    const seen: unknown[] = [];
    for await (const event of stream) seen.push(event.data);
    expect(seen).toEqual([{ text: 'a' }, { txt: 'b' }]);
  });
});

describe('valibot, and asynchronous schemas', () => {
  const jobs = defineContract({
    progress: v.object({ phase: v.string(), fraction: v.optional(v.number()) }),
    row: v.pipeAsync(
      v.object({ n: v.number() }),
      v.checkAsync(async (row) => row.n >= 0, 'n must not be negative'),
    ),
    done: v.object({ rows: v.number() }),
  });

  test('end to end, in order, with progress checked as its event', async () => {
    const fetch = inProcess((request) =>
      createEventStream(
        request,
        async (stream) => {
          void stream.progress({ phase: 'start' });
          void stream.send({ event: 'row', data: { n: 1 } }); // asynchronous check, not awaited
          void stream.send({ event: 'row', data: { n: 2 } });
          await stream.progress({ phase: 'end', fraction: 1 }, { coalesce: false });
          return { rows: 2 };
        },
        { contract: jobs, heartbeatMs: 0 },
      ),
    );
    const stream = fetchContractStream('http://x/', { contract: jobs, fetch });
    const seen: unknown[] = [];
    for await (const event of stream) seen.push([event.type, event.data]);
    expect(seen).toEqual([
      ['progress', { phase: 'start' }],
      ['row', { n: 1 }],
      ['row', { n: 2 }],
      ['progress', { phase: 'end', fraction: 1 }],
    ]);
    expect(await stream.result).toEqual({ rows: 2 });
  });

  test('an asynchronous violation rejects the send', async () => {
    const errors: unknown[] = [];
    const response = createEventStream(
      new Request('http://x/'),
      async (stream) => {
        await stream.send({ event: 'row', data: { n: -1 } });
        return { rows: 1 };
      },
      { contract: jobs, heartbeatMs: 0, onError: (error) => errors.push(error) },
    );
    expect(await read(response)).toBe(
      'event: error\ndata: {"message":"Internal server error"}\n\n',
    );
    expect((errors[0] as ContractError).message).toBe(
      'Event "row" does not match the contract: n must not be negative.',
    );
  });

  test('the client validates asynchronously too, keeping the order', async () => {
    const body = 'event: row\ndata: {"n":1}\n\nevent: row\ndata: {"n":-1}\n\n';
    const fetch = inProcess(
      () => new Response(body, { headers: { 'content-type': 'text/event-stream' } }),
    );
    const seen: unknown[] = [];
    const failure = await (async () => {
      for await (const event of fetchContractStream('http://x/', { contract: jobs, fetch }))
        seen.push(event.data);
    })().catch((error: unknown) => error);
    expect(seen).toEqual([{ n: 1 }]);
    expect(ServerError.isInstance(failure)).toBe(false);
    expect((failure as ContractError).issues.map((issue) => issue.message)).toEqual([
      'n must not be negative',
    ]);
  });
});

describe('eventStreamHandler under a contract', () => {
  test('the body reaches a typed producer; its events and result are checked', async () => {
    const errors: unknown[] = [];
    const handler = eventStreamHandler(
      {
        contract: chat,
        heartbeatMs: 0,
        onError: (error) => errors.push(error),
        parseBody: (body) => body as { prompt: string },
      },
      async (stream, { prompt }) => {
        await stream.send({ event: 'token', data: { text: prompt } });
        if (prompt === 'bad') {
          // @ts-expect-error text must be a string
          await stream.send({ event: 'token', data: { text: 1 } });
        }
        return { finishReason: 'stop' as const };
      },
    );
    const post = (prompt: string) =>
      handler(
        new Request('http://x/', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ prompt }),
        }),
      );
    expect(await read(await post('Hi'))).toBe(
      'event: token\ndata: {"text":"Hi"}\n\nevent: done\ndata: {"finishReason":"stop"}\n\n',
    );
    expect(await read(await post('bad'))).toBe(
      'event: token\ndata: {"text":"bad"}\n\nevent: error\ndata: {"message":"Internal server error"}\n\n',
    );
    expect(errors).toHaveLength(1);
    expect(ContractError.isInstance(errors[0]) && errors[0].event).toBe('token');
  });

  test('a contract that is not one is a TypeError when the handler is made', () => {
    expect(() =>
      eventStreamHandler({ contract: {} as typeof chat }, async () => ({
        finishReason: 'stop' as const,
      })),
    ).toThrow(
      new TypeError(
        'eventStreamHandler: contract must be made by defineContract() from ssekit/contract.',
      ),
    );
  });
});
