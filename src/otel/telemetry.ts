import {
  context,
  type MeterProvider,
  metrics,
  propagation,
  type TextMapPropagator,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';
import type { FetchLike } from '../client/index.ts';
import type { HubObserver } from '../hub/types.ts';
import type { ObserveStream } from '../server/observe.ts';
import { type ClientFunction, traceClient } from './_client.ts';
import { hubObserver } from './_run.ts';
import { serverObserver } from './_server.ts';
import { createInstruments, HEADERS_SETTER, type Setup } from './_shared.ts';

/** Options of {@link createTelemetry}. */
export interface TelemetryOptions {
  /** @default the global one (`trace.getTracerProvider()`) */
  tracerProvider?: TracerProvider | undefined;
  /** @default the global one (`metrics.getMeterProvider()`) */
  meterProvider?: MeterProvider | undefined;
  /**
   * Reads the trace context of requests (server) and writes it into them (client).
   * @default the global one (`propagation`): W3C `traceparent` once an SDK registered it
   */
  propagator?: TextMapPropagator | undefined;
  /**
   * The route template of a request (`/api/chat`, `/runs/:id`): names its span
   * (`POST /api/chat`) and becomes `http.route`. Without it spans are named by the method alone,
   * as the HTTP conventions ask when no low-cardinality route is known.
   */
  route?: ((request: Request) => string | undefined) | undefined;
}

/** The hooks of one telemetry: pass each where it belongs. */
export interface Telemetry {
  /**
   * The server's `observe` option (`createEventStream`, `eventStreamHandler`,
   * `relayEventStream`, and per call on the hub): a span and metrics per stream.
   */
  readonly server: ObserveStream;
  /** `createHub`'s `observe` option: a span per run, and the server's for every stream it answers. */
  readonly hub: HubObserver;
  /**
   * Wraps a client function (`fetchEventStream`, `fetchContractStream`): the returned function
   * takes the same arguments and traces each stream it starts.
   */
  client<F extends ClientFunction>(start: F): F;
  /**
   * A `fetch` that injects the current trace context into each request: for clients that take a
   * `fetch` option but are not traced as a whole (`useEventStream`, `EventSource`).
   */
  fetch(base?: FetchLike): FetchLike;
}

/**
 * OpenTelemetry for event streams: spans, metrics and trace context for the server, the hub and
 * the client, through the core's observer hooks. Needs `@opentelemetry/api` (an optional peer
 * dependency: nothing else in ssekit imports it) and an SDK that you set up; without an SDK every
 * span and instrument is a no-op.
 *
 * @example
 * ```ts
 * import { fetchEventStream } from 'ssekit/client';
 * import { createHub } from 'ssekit/hub';
 * import { createTelemetry } from 'ssekit/otel';
 * import { eventStreamHandler } from 'ssekit/server';
 *
 * const telemetry = createTelemetry({ route: () => '/api/chat' });
 * export const POST = eventStreamHandler({ observe: telemetry.server }, async (stream) => {
 *   await stream.send({ event: 'token', data: 'Hi' });
 * });
 * export const hub = createHub({ observe: telemetry.hub });
 * const tracedFetchEventStream = telemetry.client(fetchEventStream);
 * for await (const event of tracedFetchEventStream('/api/chat', { json: {} })) console.log(event);
 * ```
 * @see https://opentelemetry.io/docs/specs/semconv/http/http-spans/
 */
export function createTelemetry(options: TelemetryOptions = {}): Telemetry {
  if (options.route !== undefined && typeof options.route !== 'function') {
    throw new TypeError(`createTelemetry: route must be a function, got ${typeof options.route}.`);
  }
  const tracerProvider = options.tracerProvider ?? trace.getTracerProvider();
  const meterProvider = options.meterProvider ?? metrics.getMeterProvider();
  const setup: Setup = {
    tracer: tracerProvider.getTracer('ssekit'),
    propagator: options.propagator ?? propagation,
    instruments: createInstruments(meterProvider.getMeter('ssekit')),
    route: options.route,
  };
  return {
    server: serverObserver(setup),
    hub: hubObserver(setup),
    client: (start) => traceClient(setup, start),
    fetch(base) {
      const inner: FetchLike = base ?? ((input, init) => globalThis.fetch(input, init));
      return (input, init) => {
        const headers = new Headers(init?.headers);
        setup.propagator.inject(context.active(), headers, HEADERS_SETTER);
        return inner(input, { ...init, headers });
      };
    },
  };
}
