/**
 * The chat endpoint of this example: `POST {"prompt": "..."}` answered with one `token` event per
 * word of a fake model's answer, then `done`. Bad requests get JSON errors (405, 415, 413, 400)
 * instead of a stream. The prompt `fail` makes the model throw mid-answer: the client gets an
 * `error` event with a safe message, the real error goes to `onError`.
 */
import { RequestError } from 'ssekit';
import { type EventStreamOptions, eventStreamHandler } from 'ssekit/server';

/** A stand-in for an LLM: the same answer for the same prompt, one word every `delayMs`. */
export async function* fakeModel(
  prompt: string,
  signal: AbortSignal,
  delayMs = 20,
): AsyncGenerator<string> {
  const answer = `You asked: "${prompt}". This answer arrives one token at a time.`;
  for (const [index, token] of (answer.match(/\S+\s*/g) ?? []).entries()) {
    await delay(delayMs, signal); // stops at once when the client leaves
    if (prompt === 'fail' && index === 2) throw new Error('the model crashed (prompt "fail")');
    yield token;
  }
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function parsePrompt(body: unknown): { prompt: string } {
  const prompt = (body as { prompt?: unknown } | null)?.prompt;
  if (typeof prompt !== 'string' || prompt.length === 0) {
    throw new RequestError('bad-request', 'Send {"prompt": "..."} with a non-empty prompt.');
  }
  return { prompt };
}

/** Options of {@link createChat}: the stream's, and the fake model's pace. */
export interface ChatOptions extends EventStreamOptions {
  /** @default 20 */
  delayMs?: number;
}

/** POST /api/chat as a Web handler `(request) => Promise<Response>`. */
export function createChat(options: ChatOptions = {}): (request: Request) => Promise<Response> {
  const { delayMs, ...streamOptions } = options;
  return eventStreamHandler(
    { ...streamOptions, maxBodyBytes: 16 * 1024, parseBody: parsePrompt },
    async function* (stream, { prompt }) {
      try {
        for await (const token of fakeModel(prompt, stream.signal, delayMs)) {
          yield { event: 'token', data: token };
        }
      } finally {
        // The signal aborts when the client leaves (or at the deadline): the model stops there.
        if (stream.signal.aborted) console.log('chat: the stream ended early; the model stopped');
      }
    },
  );
}

/** The endpoint with default options. */
export const chat: (request: Request) => Promise<Response> = createChat();
