/**
 * The relay pattern: `POST /api/chat {"prompt"}` calls an OpenAI-compatible upstream (this
 * example's own server by default; OpenAI itself with a key) and relays the stream to the browser
 * as `token` events, dropping everything else. The browser never sees the upstream's key or
 * format, and leaving the page cancels the upstream request.
 */
import { readJsonBody, relayEventStream } from '../../src/server/index.ts';

/** The upstream: OpenAI (`https://api.openai.com/v1` and a key) or any compatible server. */
export interface TokenRelayOptions {
  /** @default this server's own `/v1` */
  baseURL?: string | undefined;
  apiKey?: string | undefined;
}

/** The relay endpoint as a Web handler. */
export function createTokenRelay(
  options: TokenRelayOptions = {},
): (request: Request) => Promise<Response> {
  return (request) => relayTokens(request, options);
}

async function relayTokens(request: Request, options: TokenRelayOptions): Promise<Response> {
  const { prompt } = (await readJsonBody(request)) as { prompt: string };
  const baseURL = options.baseURL ?? new URL('/v1', request.url).href;
  const upstream = await fetch(`${baseURL}/chat/completions`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${options.apiKey ?? 'not-needed'}`,
    },
    body: JSON.stringify({
      model: 'gpt-4o-mini',
      stream: true,
      messages: [{ role: 'user', content: prompt }],
    }),
    signal: request.signal,
  });
  return relayEventStream(upstream, {
    request,
    map: (event) => {
      const chunk = JSON.parse(event.data) as {
        choices?: Array<{ delta?: { content?: string } }>;
        error?: { message?: string };
      };
      if (chunk.error) throw Object.assign(new Error(chunk.error.message), { expose: true });
      const text = chunk.choices?.[0]?.delta?.content;
      return text ? { event: 'token', data: text } : null;
    },
  });
}
