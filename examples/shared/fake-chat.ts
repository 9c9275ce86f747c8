/**
 * The chat endpoint every platform example serves: a POST with `{"prompt": "..."}` answered with
 * one `token` event per word of a fake, deterministic answer, then `done`.
 */
import { RequestError } from '../../src/index.ts';
import { type EventStreamOptions, eventStreamHandler } from '../../src/server/index.ts';

/** A stand-in for an LLM: the same answer for the same prompt, one word at a time. */
export async function* fakeTokens(prompt: string, signal: AbortSignal, delayMs = 10) {
  const answer = `You asked: "${prompt}". This answer arrives one token at a time.`;
  for (const token of answer.match(/\S+\s*/g) ?? []) {
    await delay(delayMs, signal); // stops at once when the client leaves
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

/**
 * POST /api/chat as a Web handler: 405/415/413/400 as JSON errors, else the token stream.
 * `options` are the stream's (a platform's `maxDurationMs`, say).
 */
export function createChat(
  options: EventStreamOptions = {},
): (request: Request) => Promise<Response> {
  return eventStreamHandler(
    { ...options, maxBodyBytes: 16 * 1024, parseBody: parsePrompt },
    async function* (stream, { prompt }) {
      for await (const token of fakeTokens(prompt, stream.signal)) {
        yield { event: 'token', data: token };
      }
    },
  );
}

/** The handler with default stream options. */
export const chat: (request: Request) => Promise<Response> = createChat();
