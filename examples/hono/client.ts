/**
 * The client: POST the prompt, read the event stream with the package decoder, print tokens.
 * Runs in Node, browsers, Deno and Bun alike (fetch and Web streams only).
 */
import { EventStreamDecoder } from '../../src/index.ts';

/** Yields the tokens of the answer; throws the server's message on `error`. */
export async function* streamChat(
  url: string,
  prompt: string,
  signal?: AbortSignal,
): AsyncGenerator<string> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({ prompt }),
    ...(signal ? { signal } : {}),
  });
  if (!response.ok || !response.body) {
    throw new Error(`POST ${url} failed with ${response.status}: ${await response.text()}`);
  }
  const reader = response.body.pipeThrough(new EventStreamDecoder()).getReader();
  try {
    for (;;) {
      const { done, value: event } = await reader.read();
      if (done) throw new Error(`POST ${url}: the stream ended before its done event.`);
      if (event.type === 'token') yield event.data;
      else if (event.type === 'done') return;
      else if (event.type === 'error') throw new Error(JSON.parse(event.data).message);
    }
  } finally {
    await reader.cancel(); // after done, or when the caller stops early: close the connection
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const url = process.argv[2] ?? 'http://localhost:3000/api/chat';
  for await (const token of streamChat(url, 'What is ssekit?')) process.stdout.write(token);
  process.stdout.write('\n');
}
