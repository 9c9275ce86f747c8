/**
 * One Web handler served for real by node:http, Express, Koa and Fastify through the ssekit
 * adapters, each on a free loopback port, so that a suite can run against all of them.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import Koa from 'koa';
import { toExpressHandler } from '../../src/adapters/express.ts';
import { toFastifyHandler } from '../../src/adapters/fastify.ts';
import { toKoaHandler } from '../../src/adapters/koa.ts';
import { type NodeHandlerOptions, toNodeHandler } from '../../src/adapters/node.ts';

export type WebHandler = (request: Request) => Response | Promise<Response>;

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export type ServerFactory = (
  handler: WebHandler,
  options?: NodeHandlerOptions,
) => Promise<RunningServer>;

async function listen(server: Server): Promise<RunningServer> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Every framework, by name. Express and Koa add a header of their own to prove it survives. */
export const frameworks: Record<'node:http' | 'express' | 'koa' | 'fastify', ServerFactory> = {
  'node:http': (handler, options) => listen(createServer(toNodeHandler(handler, options))),
  express: (handler, options) => {
    const app = express();
    app.use((_req, res, next) => {
      res.setHeader('x-framework', 'express');
      next();
    });
    app.post('/parsed', express.json(), toExpressHandler(handler, options));
    app.all('/{*path}', toExpressHandler(handler, options));
    return listen(createServer(app));
  },
  koa: (handler, options) => {
    const app = new Koa();
    app.use(async (ctx, next) => {
      ctx.set('x-framework', 'koa');
      await next();
    });
    app.use(toKoaHandler(handler, options));
    return listen(createServer(app.callback()));
  },
  fastify: async (handler, options) => {
    const app = Fastify({ forceCloseConnections: true });
    app.addHook('onRequest', async (_request, reply) => {
      reply.header('x-framework', 'fastify');
    });
    app.route({
      method: ['GET', 'POST', 'HEAD'],
      url: '/*',
      handler: toFastifyHandler(handler, options),
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}`, port, close: () => app.close() };
  },
};
