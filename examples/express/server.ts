/**
 * Express: `npx tsx examples/express/server.ts`, then `npx tsx examples/shared/client.ts`.
 */
import { fileURLToPath } from 'node:url';
import express, { type Express } from 'express';
import { toExpressHandler } from '../../src/adapters/express.ts';
import { chat } from '../shared/fake-chat.ts';

export function createApp(): Express {
  const app = express();
  // No express.json() needed: the handler reads (and limits) the body itself. With a body parser
  // on the route, the adapter passes the parsed body on instead.
  app.post('/api/chat', toExpressHandler(chat));
  return app;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const port = Number(process.env.PORT ?? 3000);
  createApp().listen(port, () => console.log(`POST http://localhost:${port}/api/chat`));
}
