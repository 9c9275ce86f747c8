/**
 * ssekit/adapters/koa: a Web handler as a Koa middleware (Koa 2 and 3).
 *
 * @module
 */
/// <reference types="node" />
import type { Context } from 'koa';
import { type FetchHandler, handleNodeRequest, type NodeHandlerOptions } from './node.ts';

/** The context of {@link toKoaHandler}: Koa's `ctx`. */
export interface KoaContext {
  ctx: Context;
}

/** A Koa middleware that answers the request itself. */
export type KoaHandler = (ctx: Context) => Promise<void>;

/**
 * A Koa middleware from a Web handler. It sets `ctx.respond = false` and writes the response to
 * Node's `res` itself, so Koa neither buffers nor ends the stream; headers set with `ctx.set()`
 * by earlier middleware are kept. A body parsed by a body parser (`ctx.request.body`) is passed on.
 *
 * @example
 * ```ts
 * import Koa from 'koa';
 * import { toKoaHandler } from 'ssekit/adapters/koa';
 * import { createEventStream } from 'ssekit/server';
 *
 * const app = new Koa();
 * app.use(
 *   toKoaHandler((request) =>
 *     createEventStream(request, async (stream) => {
 *       await stream.send({ data: 'hello' });
 *     }),
 *   ),
 * );
 * ```
 */
export function toKoaHandler(
  handler: FetchHandler<KoaContext>,
  options: NodeHandlerOptions = {},
): KoaHandler {
  return async (ctx) => {
    ctx.respond = false;
    const parsed = (ctx.request as { body?: unknown }).body;
    const parsedBody = ctx.req.readableEnded ? parsed : undefined;
    await handleNodeRequest(ctx.req, ctx.res, handler, {
      ...options,
      context: { ctx },
      parsedBody,
    });
  };
}
