/**
 * What the server, hub and client sides of ssekit/otel share: the tracer, the instruments, the
 * W3C `traceparent` of a span (kept with a hub run), and header carriers for the propagator.
 */
import {
  type Attributes,
  type Counter,
  type Histogram,
  type Meter,
  type Span,
  type SpanContext,
  SpanStatusCode,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
  type Tracer,
  trace,
  type UpDownCounter,
} from '@opentelemetry/api';
import { ATTRIBUTES, METRICS, SPAN_EVENTS } from './attributes.ts';

/**
 * A counter for the hot path: each attribute set has a slot that the stream increments (an
 * addition, not an SDK call per event), and an observable counter reports the slots' totals at
 * each collection. Cumulative and exact; the attribute sets are few (no ids or paths in them).
 */
export class Tally {
  readonly #slots = new Map<string, { attributes: Attributes; value: number }>();

  constructor(meter: Meter, name: string, options: { description: string; unit: string }) {
    meter.createObservableCounter(name, options).addCallback((result) => {
      for (const slot of this.#slots.values()) result.observe(slot.value, slot.attributes);
    });
  }

  /** The slot of an attribute set: add to its `value`. */
  slot(attributes: Attributes): { value: number } {
    const key = JSON.stringify(attributes);
    let slot = this.#slots.get(key);
    if (slot === undefined) {
      slot = { attributes, value: 0 };
      this.#slots.set(key, slot);
    }
    return slot;
  }
}

/** The instruments of one telemetry. */
export interface Instruments {
  activeStreams: UpDownCounter;
  serverEvents: Tally;
  serverBytes: Tally;
  serverResumes: Counter;
  slowConsumerDrops: Counter;
  serverTimeToFirstEvent: Histogram;
  activeRuns: UpDownCounter;
  clientEvents: Tally;
  clientResumes: Counter;
  clientTimeToFirstEvent: Histogram;
}

/** Everything the sides need, resolved once by `createTelemetry`. */
export interface Setup {
  tracer: Tracer;
  propagator: TextMapPropagator;
  instruments: Instruments;
  route: ((request: Request) => string | undefined) | undefined;
}

// Buckets for time to first event, in seconds: from a cached answer to a slow model's first token.
const TTFE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export function createInstruments(meter: Meter): Instruments {
  const ttfe = (name: string, description: string) =>
    meter.createHistogram(name, {
      description,
      unit: 's',
      advice: { explicitBucketBoundaries: TTFE_BUCKETS },
    });
  return {
    activeStreams: meter.createUpDownCounter(METRICS.activeStreams, {
      description: 'Event streams open now.',
      unit: '{stream}',
    }),
    serverEvents: new Tally(meter, METRICS.serverEvents, {
      description: 'Events sent on event streams.',
      unit: '{event}',
    }),
    serverBytes: new Tally(meter, METRICS.serverBytes, {
      description: 'Bytes handed to event-stream clients.',
      unit: 'By',
    }),
    serverResumes: meter.createCounter(METRICS.serverResumes, {
      description: 'Event streams opened with Last-Event-ID.',
      unit: '{stream}',
    }),
    slowConsumerDrops: meter.createCounter(METRICS.slowConsumerDrops, {
      description: 'Event-stream clients dropped for not reading.',
      unit: '{stream}',
    }),
    serverTimeToFirstEvent: ttfe(
      METRICS.serverTimeToFirstEvent,
      "Time from an event stream's start to its first event.",
    ),
    activeRuns: meter.createUpDownCounter(METRICS.activeRuns, {
      description: 'Hub runs whose producer runs now.',
      unit: '{run}',
    }),
    clientEvents: new Tally(meter, METRICS.clientEvents, {
      description: 'Events delivered to the application.',
      unit: '{event}',
    }),
    clientResumes: meter.createCounter(METRICS.clientResumes, {
      description: 'Reconnections that resumed with Last-Event-ID.',
      unit: '{request}',
    }),
    clientTimeToFirstEvent: ttfe(
      METRICS.clientTimeToFirstEvent,
      "Time from the client's start to the first event delivered.",
    ),
  };
}

/** Reads a Web `Headers` for the propagator. */
export const HEADERS_GETTER: TextMapGetter<Headers> = {
  keys: (headers) => [...headers.keys()],
  get: (headers, key) => headers.get(key) ?? undefined,
};

/** Writes a Web `Headers` for the propagator. */
export const HEADERS_SETTER: TextMapSetter<Headers> = {
  set: (headers, key, value) => headers.set(key, value),
};

/** The W3C `traceparent` of a span, or `undefined` when it is not sampled into a real trace. */
export function traceparentOf(span: Span): string | undefined {
  const context = span.spanContext();
  if (!trace.isSpanContextValid(context)) return undefined;
  return `00-${context.traceId}-${context.spanId}-${context.traceFlags.toString(16).padStart(2, '0')}`;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The span context of a `traceparent` (remote), or `undefined` for anything else. */
export function spanContextOf(traceparent: string | undefined): SpanContext | undefined {
  const match = traceparent === undefined ? null : TRACEPARENT.exec(traceparent);
  if (!match) return undefined;
  const context: SpanContext = {
    traceId: match[1]!,
    spanId: match[2]!,
    traceFlags: Number.parseInt(match[3]!, 16),
    isRemote: true,
  };
  return trace.isSpanContextValid(context) ? context : undefined;
}

/**
 * Marks a span failed: status ERROR, `error.type` (the error's string `code`, else its name),
 * and the exception as an event.
 */
export function failSpan(span: Span, error: unknown, fallbackType: string): void {
  const code = (error as { code?: unknown } | null)?.code;
  const name = error instanceof Error ? error.name : undefined;
  const type = typeof code === 'string' ? code : (name ?? fallbackType);
  span.setAttribute('error.type', type);
  if (error instanceof Error) span.recordException(error);
  span.setStatus({
    code: SpanStatusCode.ERROR,
    ...(error instanceof Error ? { message: error.message } : {}),
  });
}

/** Seconds since `start` (a `performance.now()`). */
export const secondsSince = (start: number): number => (performance.now() - start) / 1000;

/**
 * A stream's events, server or client side: each one counted into `total` (a {@link Tally} slot),
 * the first one also recording the time to first event on the span and in `firstEvent`.
 */
export class EventCount {
  count = 0;

  constructor(
    readonly total: { value: number },
    readonly span: Span,
    readonly firstEvent: Histogram,
    readonly attributes: Attributes,
    readonly started: number,
  ) {}

  add(): void {
    this.total.value++;
    if (++this.count !== 1) return;
    const seconds = secondsSince(this.started);
    this.span.setAttribute(ATTRIBUTES.timeToFirstEvent, seconds);
    this.span.addEvent(SPAN_EVENTS.firstEvent);
    this.firstEvent.record(seconds, this.attributes);
  }
}

export { ATTRIBUTES };
