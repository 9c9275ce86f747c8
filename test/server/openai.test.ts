/**
 * The official `openai` SDK reads the OpenAI-compatible example built with ssekit, and the relay
 * turns that stream into token events.
 */
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { streamCompletion } from '../../examples/openai-compatible/client.ts';
import { createCompletionsServer } from '../../examples/openai-compatible/server.ts';
import { collectEvents } from '../helpers/server-stream.ts';

const ANSWER = 'You asked: "Why SSE?". This answer arrives one token at a time.';
let baseURL: string;
let origin: string;
const server = createCompletionsServer();

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  baseURL = `${origin}/v1`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('the openai SDK against examples/openai-compatible', () => {
  test('streams chat.completion.chunk objects to the end', async () => {
    const client = new OpenAI({ baseURL, apiKey: 'x', maxRetries: 0 });
    const stream = await client.chat.completions.create({
      model: 'fake-1',
      stream: true,
      messages: [{ role: 'user', content: 'Why SSE?' }],
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks[0]).toMatchObject({ object: 'chat.completion.chunk', model: 'fake-1' });
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop');
    expect(chunks.map((chunk) => chunk.choices[0]?.delta?.content ?? '').join('')).toBe(ANSWER);
  });

  test('the example client', async () => {
    let text = '';
    for await (const token of streamCompletion(baseURL, 'Why SSE?')) text += token;
    expect(text).toBe(ANSWER);
  });

  test('a non-streaming completion', async () => {
    const client = new OpenAI({ baseURL, apiKey: 'x', maxRetries: 0 });
    const completion = await client.chat.completions.create({
      model: 'fake-1',
      messages: [{ role: 'user', content: 'Why SSE?' }],
    });
    expect(completion.choices[0]?.message.content).toBe(ANSWER);
  });

  test('a mid-stream failure reaches the SDK as an APIError', async () => {
    const log = vi.spyOn(console, 'error').mockImplementation(() => {});
    const client = new OpenAI({ baseURL, apiKey: 'x', maxRetries: 0 });
    const stream = await client.chat.completions.create({
      model: 'fake-1',
      stream: true,
      messages: [{ role: 'user', content: 'please fail mid-stream' }],
    });
    const consume = async () => {
      for await (const _chunk of stream) {
        // read to the failure
      }
    };
    await expect(consume()).rejects.toBeInstanceOf(OpenAI.APIError);
    expect(log).toHaveBeenCalledWith('completion failed:', new Error('model crashed'));
    log.mockRestore();
  });

  test('a bad request gets an OpenAI-style 400', async () => {
    const client = new OpenAI({ baseURL, apiKey: 'x', maxRetries: 0 });
    const attempt = client.chat.completions.create({ model: 'fake-1', messages: [] });
    await expect(attempt).rejects.toMatchObject({ status: 400, type: 'invalid_request_error' });
  });
});

test('the relay turns the completion stream into token events', async () => {
  const response = await fetch(`${origin}/api/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"prompt":"Why SSE?"}',
  });
  const events = await collectEvents(response);
  expect(new Set(events.map((event) => event.type))).toEqual(new Set(['token', 'done']));
  expect(
    events
      .filter((event) => event.type === 'token')
      .map((event) => event.data)
      .join(''),
  ).toBe(ANSWER);
});
