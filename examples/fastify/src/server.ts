/**
 * Fastify: `npm run build && npm start`, then `npm run client`.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { toFastifyHandler } from 'ssekit/adapters/fastify';
import { chat } from './chat.ts';

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

if (import.meta.url === `file://${process.argv[1]}`) {
  const app = createApp();
  const host = process.env.HOST ?? 'localhost';
  await app.listen({ port: Number(process.env.PORT ?? 3000), host });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  console.log(`listening on http://${host}:${port}/api/chat`);
}
