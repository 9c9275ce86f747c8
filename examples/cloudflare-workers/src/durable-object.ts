/**
 * The same resumable chat on Durable Objects (ssekit/hub/durable-object): a run's log lives in
 * an object, not in the isolate, so a client that reconnects with `Last-Event-ID` resumes
 * wherever its request lands, and a cancel reaches the producer from any isolate. Configured by
 * wrangler.durable-object.toml (the binding and the migration). No `nodejs_compat` needed.
 *
 * The hub is created per request: workerd ties each connection (a run's tail, its cancel
 * listener) to the request that opened it, and a hub costs no I/O to create.
 */

import { createHub } from 'ssekit/hub';
import { createDurableObjectEngine } from 'ssekit/hub/durable-object';
import { chat } from './chat.ts';

export { HubObject } from 'ssekit/hub/durable-object';

interface Env {
  HUB: DurableObjectNamespace;
}

export default {
  fetch: (request, env, ctx) =>
    chat(createHub({ engine: createDurableObjectEngine({ namespace: env.HUB }) }), request, ctx),
} satisfies ExportedHandler<Env>;
