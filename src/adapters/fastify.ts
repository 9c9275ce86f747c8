/**
 * ssekit/adapters/fastify: a Web handler as a Fastify route handler (Fastify 4 and 5).
 *
 * @module
 */
/// <reference types="node" />
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type FetchHandler, handleNodeRequest, type NodeHandlerOptions } from './node.ts';

/** The context of {@link toFastifyHandler}: Fastify's request and reply. */
export interface FastifyContext {
  request: FastifyRequest;
  reply: FastifyReply;
}

/** A Fastify route handler. */
export type FastifyHandler = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

/**
 * A Fastify route handler from a Web handler. It calls `reply.hijack()`, so Fastify neither
 * serialises nor ends the response, copies headers set with `reply.header()` (by hooks and
 * plugins such as @fastify/cors) to the raw response, and passes on the body Fastify parsed.
 * Fastify parses JSON bodies before the handler (answering bad JSON and bodies over its
 * `bodyLimit` in its own format); to have ssekit's `readJsonBody` do it, register the route in a
 * plugin whose content-type parser leaves the body unread (see docs/adapters.md).
 *
 * @example
 * ```ts
 * import Fastify from 'fastify';
 * import { toFastifyHandler } from 'ssekit/adapters/fastify';
 * import { createEventStream } from 'ssekit/server';
 *
 * const app = Fastify();
 * app.post(
 *   '/api/chat',
 *   toFastifyHandler((request) =>
 *     createEventStream(request, async (stream) => {
 *       await stream.send({ data: 'hello' });
 *     }),
 *   ),
 * );
 * ```
 */
export function toFastifyHandler(
  handler: FetchHandler<FastifyContext>,
  options: NodeHandlerOptions = {},
): FastifyHandler {
  return async (request, reply) => {
    reply.hijack();
    for (const [name, value] of Object.entries(reply.getHeaders())) {
      if (value !== undefined) reply.raw.setHeader(name, value);
    }
    const parsedBody = request.raw.readableEnded ? request.body : undefined;
    await handleNodeRequest(request.raw, reply.raw, handler, {
      ...options,
      context: { request, reply },
      parsedBody,
    });
  };
}
