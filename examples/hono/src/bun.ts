/**
 * Hono on Bun: `bun run src/bun.ts`.
 */
import { app } from './app.ts';

const server = Bun.serve({
  hostname: process.env.HOST ?? 'localhost',
  port: Number(process.env.PORT ?? 3000),
  // Bun closes a response idle for 10 s by default; ssekit's heartbeat comes every 15 s.
  idleTimeout: 30,
  fetch: app.fetch,
});
console.log(`listening on http://${server.hostname}:${server.port}/api/chat`);
