/**
 * The built-in model: deterministic, offline, and slow enough on purpose. Its answer depends only
 * on the last user message, so a test can compute the exact text it must see, and it is long
 * enough (about 320 tokens at 35 ms, 11 s) to outlive the chat's 10 s deadline at least once.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChatMessage } from '../shared.ts';

const BODY = [
  'This answer streams token by token from a fake model that runs inside the demo server, so no key and no network are needed.',
  'The chat request is a resumable run of the ssekit hub: the model writes every token to the run, and your connection only reads that run. Each event carries an id made of the run id and a sequence number.',
  'The server ends every response after a few seconds, the way serverless platforms cut long responses. It sends a retry hint, the client waits that long, then asks again with the Last-Event-ID header, and the hub carries on right after the last token you saw. The marker in this answer shows where that happened; no token was lost or repeated.',
  'Press Stop to abort the request: the page also calls the cancel endpoint, which cancels the run on the server, so the model stops working instead of talking to nobody.',
  'Meanwhile the other panels show the rest of the toolkit: a long job reports progress through named phases, the logs follow a topic filtered on the server and replay what a dropped connection missed, and the charts draw one sample per second, skipping to the newest when a tab falls behind.',
];

/** The exact answer to a conversation. */
export function fakeAnswer(messages: readonly ChatMessage[]): string {
  const question = [...messages].reverse().find((message) => message.role === 'user')?.content;
  const quoted = (question ?? '').trim().replace(/\s+/g, ' ');
  const short = quoted.length > 80 ? `${quoted.slice(0, 77)}...` : quoted;
  return [`You asked: "${short}".`, ...BODY].join('\n\n');
}

/**
 * The tokens of a text: up to four characters each, with the whitespace before them. They join
 * back to exactly the text.
 */
export function tokenize(text: string): string[] {
  return text.match(/\s*\S{1,4}|\s+/g) ?? [];
}

/** Options of {@link generateFakeAnswer}. */
export interface FakeModelOptions {
  /** The pause before each token. @default 35 */
  tokenDelayMs?: number;
  /** Stops generation (the run was cancelled): the generator throws the abort reason. */
  signal: AbortSignal;
}

/** The answer's tokens, one every `tokenDelayMs`. */
export async function* generateFakeAnswer(
  messages: readonly ChatMessage[],
  options: FakeModelOptions,
): AsyncGenerator<string> {
  const delayMs = options.tokenDelayMs ?? 35;
  for (const token of tokenize(fakeAnswer(messages))) {
    await sleep(delayMs, undefined, { signal: options.signal });
    yield token;
  }
}
