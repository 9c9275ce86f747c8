/**
 * The client: POST a prompt with `fetchEventStream`, which resumes with `Last-Event-ID` if the
 * connection drops, and print the answer token by token.
 *
 * `node dist/client.js http://localhost:3000/api/chat "Why SSE?"`
 */
import { fetchEventStream } from 'ssekit/client';

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
  for await (const token of streamChat(url, process.argv[3] ?? 'What is ssekit?')) {
    process.stdout.write(token);
  }
  process.stdout.write('\n');
}
