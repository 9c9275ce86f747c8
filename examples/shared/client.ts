/**
 * The client of every chat example: POST the prompt with ssekit's `fetchEventStream`, which
 * resumes with `Last-Event-ID` if the connection drops, and yield the tokens of the answer.
 * Runs in Node, browsers, Deno and Bun alike (fetch and Web streams only).
 *
 * `npx tsx examples/shared/client.ts http://localhost:3000/api/chat`
 */
import { fetchEventStream } from '../../src/client/index.ts';

/** Yields the tokens of the answer; rejects with a `ServerError` on the server's `error` event. */
export async function* streamChat(
  url: string,
  prompt: string,
  signal?: AbortSignal,
): AsyncGenerator<string> {
  for await (const event of fetchEventStream(url, { json: { prompt }, signal })) {
    if (event.type === 'token') yield event.data;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const url = process.argv[2] ?? 'http://localhost:3000/api/chat';
  for await (const token of streamChat(url, 'What is ssekit?')) process.stdout.write(token);
  process.stdout.write('\n');
}
