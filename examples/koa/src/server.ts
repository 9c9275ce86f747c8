/**
 * Koa: `npm run build && npm start`, then `npm run client`.
 */
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { toKoaHandler } from 'ssekit/adapters/koa';
import { chat } from './chat.ts';

export function createApp(): Koa {
  const app = new Koa();
  const chatHandler = toKoaHandler(chat); // sets ctx.respond = false and streams to ctx.res
  app.use(async (ctx, next) => {
    if (ctx.path === '/api/chat') return chatHandler(ctx);
    return next();
  });
  return app;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const host = process.env.HOST ?? 'localhost';
  const server = createApp().listen(Number(process.env.PORT ?? 3000), host, () => {
    const { port } = server.address() as AddressInfo;
    console.log(`listening on http://${host}:${port}/api/chat`);
  });
}
