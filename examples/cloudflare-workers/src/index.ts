/**
 * A Cloudflare Worker with a resumable chat: the hub lives at module scope (one per isolate), the
 * model runs detached from the connection (kept alive with `ctx.waitUntil`), and a client that
 * reconnects with `Last-Event-ID` gets exactly what it missed. No `nodejs_compat` needed.
 *
 * One isolate's memory is not shared with other isolates: for resumes that may land anywhere,
 * use src/durable-object.ts, the same chat on Durable Objects (wrangler.durable-object.toml).
 */

import { RequestError } from 'ssekit';
import { createHub } from 'ssekit/hub';
import { readJsonBody } from 'ssekit/server';
import { fakeModel } from './model.ts';

const hub = createHub();

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
