/**
 * What every chat example must do, checked against its running server: the answer token by
 * token, JSON errors for bad requests, a safe `error` event when the model fails, and the model
 * stopping when the client leaves.
 */
import { expect } from 'vitest';
import { readAll, readSome } from '../runtimes/_package.ts';

export const ANSWER = 'You asked: "Why SSE?". This answer arrives one token at a time.';
export const TOKENS: string[] = ANSWER.match(/\S+\s*/g) ?? [];

export function postPrompt(prompt: string, signal?: AbortSignal): RequestInit {
  return {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({ prompt }),
    ...(signal ? { signal } : {}),
  };
}

/** The whole answer: one token per event, then `done`. */
export async function expectAnswer(url: string): Promise<void> {
  const response = await fetch(url, postPrompt('Why SSE?'));
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const { events } = await readAll(response);
  expect(events.map((event) => event.type)).toEqual([...TOKENS.map(() => 'token'), 'done']);
  expect(events.filter((event) => event.type === 'token').map((event) => event.data)).toEqual(
    TOKENS,
  );
}

/**
 * A hub-backed answer cut after three tokens and resumed by another request with Last-Event-ID:
 * the rest of the run exactly once, then `done`.
 */
export async function expectResumedAnswer(url: string): Promise<void> {
  const first = await readSome(await fetch(url, postPrompt('Why SSE?')), 3);
  expect(first.map((event) => event.data)).toEqual(TOKENS.slice(0, 3));
  const resumed = await fetch(url, {
    ...postPrompt('Why SSE?'),
    headers: { 'content-type': 'application/json', 'last-event-id': first[2]!.id },
  });
  const { events } = await readAll(resumed);
  expect(events.filter((event) => event.type === 'token').map((event) => event.data)).toEqual(
    TOKENS.slice(3),
  );
  expect(events.at(-1)?.type).toBe('done');
}

/** 415 for a non-JSON body, 400 for an empty prompt: JSON errors, not streams. */
export async function expectJsonErrors(url: string): Promise<void> {
  const text = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'text/plain' },
    body: 'hi',
  });
  expect(text.status).toBe(415);
  expect(await text.json()).toMatchObject({ error: { code: 'unsupported-media-type' } });
  const empty = await fetch(url, postPrompt(''));
  expect(empty.status).toBe(400);
  expect(await empty.json()).toMatchObject({ error: { code: 'bad-request' } });
}

/** The prompt `fail` makes the model throw: two tokens, then the safe error event. */
export async function expectSafeError(url: string): Promise<void> {
  const { text, events } = await readAll(await fetch(url, postPrompt('fail')));
  expect(events.map((event) => event.type)).toEqual(['token', 'token', 'error']);
  expect(events.at(-1)?.data).toBe('{"message":"Internal server error"}');
  expect(text).not.toContain('crashed');
}

/** Reads the first token, then leaves: `stopped` must resolve (the server saw it). */
export async function expectLeaveStopsModel(url: string, stopped: () => Promise<unknown>) {
  const leave = new AbortController();
  const response = await fetch(url, postPrompt('Why SSE?', leave.signal));
  expect((await readSome(response, 1))[0]).toMatchObject({ type: 'token', data: TOKENS[0] });
  leave.abort();
  await stopped();
}
