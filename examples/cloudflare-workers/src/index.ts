/**
 * A Cloudflare Worker with a resumable chat: the hub lives at module scope (one per isolate), the
 * model runs detached from the connection (kept alive with `ctx.waitUntil`), and a client that
 * reconnects with `Last-Event-ID` gets exactly what it missed. No `nodejs_compat` needed.
 *
 * One isolate's memory is not shared with other isolates: for resumes that may land anywhere,
 * use src/durable-object.ts, the same chat on Durable Objects (wrangler.durable-object.toml).
 */

import { createHub } from 'ssekit/hub';
import { chat } from './chat.ts';

const hub = createHub();

export default {
  fetch: (request, _env, ctx) => chat(hub, request, ctx),
} satisfies ExportedHandler;
