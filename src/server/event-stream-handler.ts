import type { AnyContract } from '../contract/define-contract.ts';
import { RequestError } from '../errors.ts';
import { corsHeaders, corsPreflight } from './cors.ts';
import { contractChecksOf, createEventStream } from './create-event-stream.ts';
import { jsonErrorResponse } from './json-error-response.ts';
import {
  type EventStreamOptions,
  resolveEventStreamOptions,
  type WithContract,
} from './options.ts';
import { defaultPublicError } from './public-error.ts';
import { DEFAULT_MAX_BODY_BYTES, readJsonBody } from './read-json-body.ts';
import type {
  ContractProducerResult,
  ContractWriter,
  EventStreamProducer,
  EventStreamProducerResult,
  EventStreamWriter,
} from './types.ts';

/** Options of {@link eventStreamHandler}: the request checks, and those of `createEventStream`. */
export interface EventStreamHandlerOptions<Body = unknown> extends EventStreamOptions {
  /**
   * The methods answered; any other gets 405 with an `allow` header (and `OPTIONS` gets the CORS
   * preflight when `cors` is set).
   * @default ['POST']
   */
  methods?: readonly string[];
  /**
   * Whether POST, PUT and PATCH requests carry a JSON body to read (`'json'`) or none (`'none'`).
   * GET, HEAD and DELETE never do.
   * @default 'json'
   */
  body?: 'json' | 'none';
  /**
   * The largest JSON body accepted, in bytes (413 beyond).
   * @default 1_048_576 (1 MiB)
   */
  maxBodyBytes?: number;
  /**
   * Validates the parsed body and returns what the producer gets. Throw a `RequestError`
   * (`bad-request`) to answer 400 with your message; any other error answers 400 with a generic
   * message (or the error's own with `expose: true`) and goes to `onError`.
   */
  parseBody?: (body: unknown, request: Request) => Body | PromiseLike<Body>;
}

/** The producer of {@link eventStreamHandler}: that of `createEventStream`, plus the body. */
export type EventStreamHandlerProducer<Body> = (
  stream: EventStreamWriter,
  body: Body,
) => EventStreamProducerResult;

/**
 * The producer of {@link eventStreamHandler} under a contract: its writer is typed by it (see
 * `ContractWriter`), and what it returns is the input of the contract's `done` schema.
 */
export type ContractHandlerProducer<C extends AnyContract, Body> = (
  stream: ContractWriter<C>,
  body: Body,
) => ContractProducerResult<C>;

const BODYLESS = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS']);

/**
 * A complete event-stream endpoint as a Web handler `(request) => Promise<Response>`: answers the
 * CORS preflight, refuses other methods (405), reads and validates the JSON body (415, 413, 400),
 * all as JSON errors rather than streams, then streams what `producer` sends. Options are
 * validated when the handler is created.
 *
 * @example
 * ```ts
 * import { eventStreamHandler, RequestError } from 'ssekit/server';
 *
 * export const POST = eventStreamHandler(
 *   {
 *     maxBodyBytes: 16 * 1024,
 *     parseBody: (body) => {
 *       const prompt = (body as { prompt?: unknown }).prompt;
 *       if (typeof prompt !== 'string') throw new RequestError('bad-request', 'prompt must be a string.');
 *       return { prompt };
 *     },
 *   },
 *   async (stream, { prompt }) => {
 *     await stream.send({ event: 'token', data: prompt.toUpperCase() });
 *   },
 * );
 * ```
 *
 * With `contract` (`defineContract` from `ssekit/contract`), `send` is typed and checked by it,
 * as with `createEventStream`:
 *
 * ```ts
 * import { defineContract } from 'ssekit/contract';
 * import { eventStreamHandler } from 'ssekit/server';
 * import { z } from 'zod';
 *
 * const chat = defineContract({ token: z.object({ text: z.string() }) });
 * export const POST = eventStreamHandler({ contract: chat }, async (stream) => {
 *   await stream.send({ event: 'token', data: { text: 'Hi' } }); // typed by the contract
 * });
 * ```
 */
export function eventStreamHandler<const C extends AnyContract, Body = unknown>(
  options: EventStreamHandlerOptions<Body> & WithContract<C>,
  producer: ContractHandlerProducer<C, Body>,
): (request: Request) => Promise<Response>;
export function eventStreamHandler<Body = unknown>(
  options: EventStreamHandlerOptions<Body>,
  producer: EventStreamHandlerProducer<Body>,
): (request: Request) => Promise<Response>;
export function eventStreamHandler<Body = unknown>(
  options: EventStreamHandlerOptions<Body> | (EventStreamHandlerOptions<Body> & WithContract),
  producer: EventStreamHandlerProducer<Body> | ContractHandlerProducer<AnyContract, Body>,
): (request: Request) => Promise<Response> {
  const resolved = resolveEventStreamOptions(options); // throws now, not at the first request
  contractChecksOf(options as Partial<WithContract>, 'eventStreamHandler'); // a bad contract too
  if (typeof producer !== 'function') {
    throw new TypeError(
      `eventStreamHandler: the producer must be a function, got ${typeof producer}.`,
    );
  }
  const methods = (options.methods ?? ['POST']).map((method) => method.toUpperCase());
  const allow = methods.join(', ');
  return async (request) => {
    const cors = options.cors ? corsHeaders(request, options.cors) : undefined;
    if (request.method === 'OPTIONS' && options.cors && !methods.includes('OPTIONS')) {
      return corsPreflight(request, options.cors);
    }
    if (!methods.includes(request.method)) {
      const path = new URL(request.url).pathname;
      const error = new RequestError(
        'method-not-allowed',
        `${request.method} ${path} is not allowed; use ${methods.join(' or ')}.`,
      );
      const headers = new Headers(cors);
      headers.set('allow', allow);
      return jsonErrorResponse(error, { headers });
    }
    let body: Body;
    try {
      body = await readBody(request, options);
    } catch (error) {
      // A client that left mid-upload is not an error; anything else unexpected is reported.
      if (!RequestError.isInstance(error) && !request.signal.aborted) resolved.onError(error);
      return jsonErrorResponse(asRequestError(error), { headers: cors });
    }
    // The contract's checks (if any) wrap the writer inside createEventStream.
    const run = ((stream: EventStreamWriter) =>
      (producer as EventStreamHandlerProducer<Body>)(stream, body)) as EventStreamProducer;
    return createEventStream(request, run, options);
  };
}

async function readBody<Body>(
  request: Request,
  options: EventStreamHandlerOptions<Body>,
): Promise<Body> {
  const wantsBody = options.body !== 'none' && !BODYLESS.has(request.method);
  const raw = wantsBody
    ? await readJsonBody(request, { maxBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES })
    : undefined;
  return options.parseBody ? await options.parseBody(raw, request) : (raw as Body);
}

// Validation failures are the client's fault (400), whatever the validator throws; its message
// shows only when it is marked safe.
function asRequestError(error: unknown): RequestError {
  if (RequestError.isInstance(error)) return error;
  const { message } = defaultPublicError(error);
  const exposed = message !== defaultPublicError(undefined).message;
  return new RequestError('bad-request', exposed ? message : 'The request body is invalid.', {
    cause: error,
  });
}
