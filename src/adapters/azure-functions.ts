/**
 * ssekit/adapters/azure-functions: a Web handler as an Azure Functions v4 HTTP handler.
 *
 * @module
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { isEventStreamType } from '../_internal/http.ts';
import { encodeEvent } from '../protocol/encode.ts';
import { jsonErrorResponse } from '../server/json-error-response.ts';
import { INTERNAL_ERROR } from '../server/public-error.ts';
import type { FetchHandler } from './node.ts';

/** Options of {@link toAzureHandler}. */
export interface AzureHandlerOptions {
  /**
   * Receives what the handler throws and a response body that fails mid-way. (Whatever ssekit
   * itself logs during the invocation, a producer's error reported by the default `onError` of
   * `createEventStream` or the hub included, goes to `context.error()` too.)
   * @default logs with `context.error()`, which lands in Application Insights
   */
  onError?: (error: unknown, context: InvocationContext) => void;
}

/** An Azure Functions v4 HTTP handler. */
export type AzureHandler = (
  request: HttpRequest,
  context: InvocationContext,
) => Promise<HttpResponseInit>;

/**
 * An Azure Functions v4 HTTP handler from a Web handler. Streaming needs
 * `app.setup({ enableHttpStream: true })` once at startup; without it the runtime buffers the
 * whole body and the client gets every event at the end.
 *
 * The runtime sends nothing at all when a streaming handler throws, or when its body stream
 * errors after it started (the client sees a cut connection with no explanation), so this wrapper
 * answers a throwing handler with a 500 JSON error, and ends a failing event-stream body with an
 * `error` event instead of an error. ssekit's own logs during the invocation (the default
 * `onError` of `createEventStream` and of the hub writes `ssekit: ...` with `console.error`) go to
 * the invocation's `context.error()` instead of the console, so that they reach Application
 * Insights with the invocation id. Azure does not tell a function that its client went away:
 * `request.signal` never aborts, so pair long streams with a cancel endpoint (ssekit/hub) and
 * bound them with `maxDurationMs`.
 *
 * @example
 * ```ts
 * import { app } from '@azure/functions';
 * import { toAzureHandler } from 'ssekit/adapters/azure-functions';
 * import { createEventStream } from 'ssekit/server';
 *
 * app.setup({ enableHttpStream: true });
 * app.http('chat', {
 *   methods: ['POST'],
 *   authLevel: 'anonymous',
 *   handler: toAzureHandler((request) =>
 *     createEventStream(request, async (stream) => {
 *       await stream.send({ data: 'hello' });
 *     }, { maxDurationMs: 40_000 }),
 *   ),
 * });
 * ```
 */
export function toAzureHandler(
  handler: FetchHandler<InvocationContext>,
  options: AzureHandlerOptions = {},
): AzureHandler {
  routeSsekitLogs();
  return (azureRequest, context) => invocation.run(context, () => handle(azureRequest, context));

  async function handle(azureRequest: HttpRequest, context: InvocationContext) {
    const report = (error: unknown) => {
      if (options.onError) options.onError(error, context);
      else context.error('ssekit: request handler failed:', error);
    };
    let response: Response;
    try {
      response = await handler(toWebRequest(azureRequest), context);
    } catch (error) {
      report(error);
      response = jsonErrorResponse(error);
    }
    const eventStream = isEventStreamType(response.headers.get('content-type'));
    return {
      status: response.status,
      headers: response.headers,
      body: response.body ? guardBody(response.body, eventStream, report) : null,
    } as HttpResponseInit;
  }
}

/** The invocation whose code is running: the producer's promises carry it along. */
const invocation = new AsyncLocalStorage<InvocationContext>();
let routed = false;

// The universal layers (server, hub) have no logger but `console.error`, with messages that start
// with `ssekit:`; in a function app that reaches the host's console without the invocation id.
// Inside an invocation those go to its `context.error()`; everything else passes untouched. The
// guard stops a loop when a context's own log handler writes to `console.error` (its fallback
// outside the Functions host does).
function routeSsekitLogs(): void {
  if (routed) return;
  routed = true;
  const original = console.error;
  let routing = false;
  console.error = (...args: unknown[]) => {
    const context = routing ? undefined : invocation.getStore();
    if (!context || typeof args[0] !== 'string' || !args[0].startsWith('ssekit:')) {
      return original.apply(console, args);
    }
    routing = true;
    try {
      context.error(...args);
    } finally {
      routing = false;
    }
  };
}

function toWebRequest(request: HttpRequest): Request {
  const method = request.method.toUpperCase();
  const init: RequestInit & { duplex?: 'half' } = {
    method,
    headers: request.headers as unknown as Headers,
  };
  if (method !== 'GET' && method !== 'HEAD' && request.body) {
    init.body = request.body as unknown as ReadableStream<Uint8Array>;
    init.duplex = 'half';
  }
  return new Request(request.url, init);
}

// Passes the body through; if it fails, an event stream ends with an `error` event and a plain
// body ends where it is, so the runtime always completes the response.
function guardBody(
  body: ReadableStream<Uint8Array>,
  eventStream: boolean,
  report: (error: unknown) => void,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (done) controller.close();
          else controller.enqueue(value);
        } catch (error) {
          report(error);
          if (eventStream) {
            const text = encodeEvent({ event: 'error', data: JSON.stringify(INTERNAL_ERROR) });
            controller.enqueue(new TextEncoder().encode(text));
          }
          controller.close();
        }
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
