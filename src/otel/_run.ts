/**
 * The hub side: a PRODUCER span per run, from its start to its terminal event, parented by the
 * request that started it; its `traceparent` is kept with the run (in the engine), so that every
 * response of the run, on any instance, links to it.
 */
import { type Attributes, context, SpanKind, trace } from '@opentelemetry/api';
import type { HubObserver, RunObserver } from '../hub/types.ts';
import { serverObserver } from './_server.ts';
import { failSpan, HEADERS_GETTER, type Setup, traceparentOf } from './_shared.ts';
import { ATTRIBUTES } from './attributes.ts';

/** The hub's `observe` option. */
export function hubObserver(setup: Setup): HubObserver {
  const { tracer, propagator, instruments } = setup;
  const stream = serverObserver(setup);
  return {
    stream,
    run({ id, request }): RunObserver {
      const parent = propagator.extract(context.active(), request.headers, HEADERS_GETTER);
      const metricAttributes: Attributes = { 'http.request.method': request.method };
      const span = tracer.startSpan(
        'ssekit.run',
        { kind: SpanKind.PRODUCER, attributes: { [ATTRIBUTES.runId]: id } },
        parent,
      );
      instruments.activeRuns.add(1, metricAttributes);
      let events = 0;
      const observer: RunObserver = {
        event: () => void events++,
        end(reason, error) {
          span.setAttributes({ [ATTRIBUTES.runEvents]: events, [ATTRIBUTES.runEndReason]: reason });
          if (reason === 'error') failSpan(span, error, 'error');
          instruments.activeRuns.add(-1, metricAttributes);
          span.end();
        },
        within: (go) => context.with(trace.setSpan(parent, span), go),
      };
      const traceparent = traceparentOf(span);
      return traceparent === undefined ? observer : { ...observer, context: traceparent };
    },
  };
}
