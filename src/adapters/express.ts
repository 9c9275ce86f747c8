/**
 * ssekit/adapters/express: a Web handler as an Express route handler (Express 4 and 5).
 *
 * @module
 */
/// <reference types="node" />
import type { Request as ExpressRequest, Response as ExpressResponse, NextFunction } from 'express';
import { type FetchHandler, handleNodeRequest, type NodeHandlerOptions } from './node.ts';

/** The context of {@link toExpressHandler}: Express's request and response. */
export interface ExpressContext {
  req: ExpressRequest;
  res: ExpressResponse;
}

/** An Express route handler. */
export type ExpressHandler = (
  req: ExpressRequest,
  res: ExpressResponse,
  next: NextFunction,
) => void;

/**
 * An Express route handler from a Web handler. A body that `express.json()` parsed already is
 * passed on as JSON; without a body parser on the route the body streams unread to the handler.
 *
 * @example
 * ```ts
 * import express from 'express';
 * import { toExpressHandler } from 'ssekit/adapters/express';
 * import { createEventStream } from 'ssekit/server';
 *
 * const app = express();
 * app.post(
 *   '/api/chat',
 *   toExpressHandler((request, { req }) =>
 *     createEventStream(request, async (stream) => {
 *       await stream.send({ data: `hello ${req.ip}` });
 *     }),
 *   ),
 * );
 * ```
 */
export function toExpressHandler(
  handler: FetchHandler<ExpressContext>,
  options: NodeHandlerOptions = {},
): ExpressHandler {
  return (req, res, next) => {
    const parsedBody = req.readableEnded ? (req.body as unknown) : undefined;
    handleNodeRequest(req, res, handler, { ...options, context: { req, res }, parsedBody }).then(
      undefined,
      next, // handleNodeRequest does not reject; should that change, Express reports it
    );
  };
}
