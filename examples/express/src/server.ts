/**
 * Express: `npm run build && npm start`, then `npm run client`.
 */
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';
import { toExpressHandler } from 'ssekit/adapters/express';
import { chat } from './chat.ts';

export function createApp(): Express {
  const app = express();
  // No express.json() needed: the handler reads (and limits) the body itself. With a body parser
  // on the route, the adapter passes the parsed body on instead.
  app.post('/api/chat', toExpressHandler(chat));
  return app;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const host = process.env.HOST ?? 'localhost';
  const server = createApp().listen(Number(process.env.PORT ?? 3000), host, () => {
    const { port } = server.address() as AddressInfo;
    console.log(`listening on http://${host}:${port}/api/chat`);
  });
}
