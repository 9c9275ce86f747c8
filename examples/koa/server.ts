/**
 * Koa: `npx tsx examples/koa/server.ts`, then `npx tsx examples/shared/client.ts`.
 */
import { fileURLToPath } from 'node:url';
import Koa from 'koa';
import { toKoaHandler } from '../../src/adapters/koa.ts';
import { chat } from '../shared/fake-chat.ts';

export function createApp(): Koa {
  const app = new Koa();
  const chatHandler = toKoaHandler(chat); // sets ctx.respond = false and streams to ctx.res
  app.use(async (ctx, next) => {
    if (ctx.path === '/api/chat') return chatHandler(ctx);
    return next();
  });
  return app;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const port = Number(process.env.PORT ?? 3000);
  createApp().listen(port, () => console.log(`POST http://localhost:${port}/api/chat`));
}
