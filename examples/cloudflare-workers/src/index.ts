/**
 * A Cloudflare Worker with a resumable chat: the hub lives at module scope (one per isolate), the
 * model runs detached from the connection (kept alive with `ctx.waitUntil`), and a client that
 * reconnects with `Last-Event-ID` gets exactly what it missed. No `nodejs_compat` needed.
 *
 * One isolate's memory is not shared with other isolates: for resumes that may land anywhere,
 * give `createHub` an engine every isolate reaches (ssekit/hub/redis over a Redis you can reach).
 */

import { RequestError } from 'ssekit';
import { createHub } from 'ssekit/hub';
import { readJsonBody } from 'ssekit/server';

const hub = createHub();

/** A stand-in for an LLM: the same answer for the same prompt, one word every 20 ms. */
async function* fakeModel(prompt: string, signal: AbortSignal): AsyncGenerator<string> {
  const answer = `You asked: "${prompt}". This answer arrives one token at a time.`;
  for (const token of answer.match(/\S+\s*/g) ?? []) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    if (signal.aborted) return; // cancelled: POST /api/chat/cancel
    yield token;
  }
}

export default {
  async fetch(request, _env, ctx): Promise<Response> {
    const { pathname } = new URL(request.url);
    if (pathname === '/api/chat/cancel') return hub.handleCancel(request);
    if (pathname !== '/api/chat') return new Response('Not found', { status: 404 });
    return hub.stream(
      request,
      async (run) => {
        const { prompt } = (await readJsonBody(run.request)) as { prompt?: unknown };
        if (typeof prompt !== 'string' || prompt === '') {
          throw new RequestError('bad-request', 'Send {"prompt": "..."}.');
        }
        for await (const token of fakeModel(prompt, run.signal)) {
          await run.send({ event: 'token', data: token });
        }
      },
      { waitUntil: (promise) => ctx.waitUntil(promise) },
    );
  },
} satisfies ExportedHandler;
