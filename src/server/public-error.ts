import { RequestError } from '../errors.ts';

/**
 * What a client may learn about a failure: the JSON payload of the `error` event. Never a stack,
 * never an internal message; the full error goes to `onError`.
 */
export interface PublicError {
  /** A message safe to show to the end user. */
  message: string;
  /** A machine-readable code, kebab-case by convention. */
  code?: string;
}

/** The payload of an `error` event when nothing marks the error as safe to expose. @internal */
export const INTERNAL_ERROR: PublicError = Object.freeze({ message: 'Internal server error' });

const marked = new WeakMap<object, PublicError>();

/**
 * Marks an error with the payload its `error` event shows, for errors raised inside ssekit whose
 * public description differs from their (internal) message: a relay failure names its upstream URL
 * in `message`, but tells the client only that the upstream failed.
 */
export function withPublicError<E extends object>(error: E, publicError: PublicError): E {
  marked.set(error, publicError);
  return error;
}

/**
 * The default mapping from a thrown value to the `error` event payload:
 *
 * 1. an error marked by ssekit itself (relay failures) shows its public description;
 * 2. an error with `expose: true` (the convention of `http-errors`, Koa and Fastify) or a
 *    {@link RequestError} shows its `message`, and its `code` when that is a string;
 * 3. anything else shows `{"message":"Internal server error"}`.
 *
 * What a `publicError` option falls back to when it returns `undefined`.
 * @internal
 */
export function defaultPublicError(error: unknown): PublicError {
  if (typeof error !== 'object' || error === null) return INTERNAL_ERROR;
  const known = marked.get(error);
  if (known) return known;
  const candidate = error as { expose?: unknown; message?: unknown; code?: unknown };
  const exposed = candidate.expose === true || RequestError.isInstance(error);
  if (!exposed || typeof candidate.message !== 'string') return INTERNAL_ERROR;
  return typeof candidate.code === 'string'
    ? { message: candidate.message, code: candidate.code }
    : { message: candidate.message };
}
