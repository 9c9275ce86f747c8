/**
 * The Hono app: the same `app.fetch` runs on Bun (`src/bun.ts`), Deno (`src/deno.ts`), Node and
 * Cloudflare Workers. A Web handler needs no adapter in Hono: hand it the raw Request.
 */
import { Hono } from 'hono';
import { chat } from './chat.ts';

export const app: Hono = new Hono();
app.post('/api/chat', (c) => chat(c.req.raw));
