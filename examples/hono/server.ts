/**
 * Hono on Node: `npx tsx examples/hono/server.ts`, then `npx tsx examples/shared/client.ts`.
 * The same `app.fetch` runs unchanged on Cloudflare Workers, Deno and Bun.
 */
import { fileURLToPath } from 'node:url';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { chat } from '../shared/fake-chat.ts';

export const app: Hono = new Hono();
// A Web handler needs no adapter in Hono: hand it the raw Request.
app.post('/api/chat', (c) => chat(c.req.raw));

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const port = Number(process.env.PORT ?? 3000);
  serve({ fetch: app.fetch, port }, () => console.log(`POST http://localhost:${port}/api/chat`));
}
