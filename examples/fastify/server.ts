/**
 * Fastify: `npx tsx examples/fastify/server.ts`, then `npx tsx examples/shared/client.ts`.
 */
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance } from 'fastify';
import { toFastifyHandler } from '../../src/adapters/fastify.ts';
import { chat } from '../shared/fake-chat.ts';

export function createApp(): FastifyInstance {
  // forceCloseConnections: close() must not wait for open event streams to end by themselves.
  const app = Fastify({ forceCloseConnections: true });
  // An encapsulated plugin whose content-type parser leaves the body unread, so that ssekit reads
  // it (with its byte limit and its JSON errors) instead of Fastify's JSON parser.
  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null));
    scope.post('/api/chat', toFastifyHandler(chat));
  });
  return app;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const port = Number(process.env.PORT ?? 3000);
  await createApp().listen({ port });
  console.log(`POST http://localhost:${port}/api/chat`);
}
