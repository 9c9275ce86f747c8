/**
 * The real OpenTelemetry SDK for the otel tests: a tracer provider with an in-memory span
 * exporter, a meter provider with a reader collected on demand, AsyncLocalStorage context, and
 * the W3C trace-context propagator. Nothing global is registered but the context manager.
 */
import { context, type HrTime, type SpanContext } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  type DataPoint,
  type Histogram,
  MeterProvider,
  MetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll } from 'vitest';
import { createTelemetry, type Telemetry } from '../../src/otel/index.ts';

/** A reader that exports nothing: the test collects when it wants the numbers. */
class OnDemandReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

export interface TestTelemetry {
  telemetry: Telemetry;
  exporter: InMemorySpanExporter;
  tracerProvider: BasicTracerProvider;
  /**
   * Every metric data point by metric name (an instrument never recorded has none): counters as
   * numbers, histograms as their counts.
   */
  metrics(): Promise<(name: string) => Array<{ attributes: object; value: number }>>;
}

/** Registers the context manager for the file, and gives each test fresh providers. */
export function withContextManager(): void {
  const manager = new AsyncLocalStorageContextManager();
  beforeAll(() => {
    context.setGlobalContextManager(manager.enable());
  });
  afterAll(() => {
    manager.disable();
    context.disable();
  });
}

export function testTelemetry(route?: (request: Request) => string | undefined): TestTelemetry {
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const reader = new OnDemandReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  const telemetry = createTelemetry({
    tracerProvider,
    meterProvider,
    propagator: new W3CTraceContextPropagator(),
    route,
  });
  return {
    telemetry,
    exporter,
    tracerProvider,
    async metrics() {
      const { resourceMetrics, errors } = await reader.collect();
      if (errors.length > 0) throw errors[0];
      const found: Record<string, Array<{ attributes: object; value: number }>> = {};
      for (const scope of resourceMetrics.scopeMetrics) {
        for (const metric of scope.metrics) {
          found[metric.descriptor.name] = (
            metric.dataPoints as DataPoint<number | Histogram>[]
          ).map((point) => ({
            attributes: { ...point.attributes },
            value: typeof point.value === 'number' ? point.value : point.value.count,
          }));
        }
      }
      return (name) => found[name] ?? [];
    },
  };
}

/** The span named `name` (exactly one). */
export function only(spans: ReadableSpan[], predicate: (span: ReadableSpan) => boolean) {
  const found = spans.filter(predicate);
  if (found.length !== 1) {
    throw new Error(
      `expected one span, found ${found.length} among ${spans.map((span) => span.name).join(', ')}`,
    );
  }
  return found[0]!;
}

/** A span's parent, as `traceId/spanId`, or undefined for a root span. */
export function parentOf(span: ReadableSpan): string | undefined {
  const parent = span.parentSpanContext;
  return parent ? `${parent.traceId}/${parent.spanId}` : undefined;
}

/** A span's own `traceId/spanId`. */
export function idOf(span: ReadableSpan | { spanContext(): SpanContext }): string {
  const { traceId, spanId } = span.spanContext();
  return `${traceId}/${spanId}`;
}

/** Milliseconds from `a` to `b`. */
export function msBetween(a: HrTime, b: HrTime): number {
  return (b[0] - a[0]) * 1000 + (b[1] - a[1]) / 1e6;
}
