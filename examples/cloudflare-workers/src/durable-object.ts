/**
 * The same resumable chat on Durable Objects (ssekit/hub/durable-object): a run's log lives in
 * an object, not in the isolate, so a client that reconnects with `Last-Event-ID` resumes
 * wherever its request lands, and a cancel reaches the producer from any isolate. Configured by
 * wrangler.durable-object.toml (the binding and the migration). No `nodejs_compat` needed.
 *
 * The hub is created per request: workerd ties each connection (a run's tail, its cancel
 * listener) to the request that opened it, and a hub costs no I/O to create.
 */

import { RequestError } from 'ssekit';
import { createHub } from 'ssekit/hub';
import { createDurableObjectEngine } from 'ssekit/hub/durable-object';
import { readJsonBody } from 'ssekit/server';
import { fakeModel } from './model.ts';

export { HubObject } from 'ssekit/hub/durable-object';

interface Env {
  HUB: DurableObjectNamespace;
}

export default {
  async fetch(request, env, ctx): Promise<Response> {
    const { pathname } = new URL(request.url);
    const hub = createHub({ engine: createDurableObjectEngine({ namespace: env.HUB }) });
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
} satisfies ExportedHandler<Env>;
