/**
 * node:http: `npx tsx examples/node-http/server.ts`, then `npx tsx examples/shared/client.ts`.
 */
import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { toNodeHandler } from '../../src/adapters/node.ts';
import { chat } from '../shared/fake-chat.ts';

export function createChatServer(): Server {
  const handler = toNodeHandler(chat);
  return createServer((req, res) => {
    if (req.url === '/api/chat') return void handler(req, res);
    res.writeHead(404).end();
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const port = Number(process.env.PORT ?? 3000);
  createChatServer().listen(port, () => console.log(`POST http://localhost:${port}/api/chat`));
}
