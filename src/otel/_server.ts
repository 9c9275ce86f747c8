/**
 * The server side: a span per stream (HTTP server semantic conventions, plus ssekit's
 * attributes), the stream's metrics, and the producer run inside the span's context.
 */
import { type Attributes, context, type Link, SpanKind, trace } from '@opentelemetry/api';
import { readLastEventId } from '../server/create-event-stream.ts';
import type { ObserveStream, StreamObserver } from '../server/observe.ts';
import { EventCount, failSpan, HEADERS_GETTER, type Setup, spanContextOf } from './_shared.ts';
import { ATTRIBUTES } from './attributes.ts';

/** The `observe` option of a stream (and the hub's `observe.stream`). */
export function serverObserver(setup: Setup): ObserveStream {
  const { tracer, propagator, instruments } = setup;
  return ({ request, run, topics }): StreamObserver => {
    const started = performance.now();
    const method = request?.method ?? 'GET';
    const route = request && setup.route?.(request);
    const kind = run ? 'run' : topics ? 'topic' : 'stream';
    // Metric attributes stay few and bounded: no ids, paths or topics.
    const metricAttributes: Attributes = {
      'http.request.method': method,
      [ATTRIBUTES.streamKind]: kind,
    };
    if (route !== undefined) metricAttributes['http.route'] = route;
    const attributes: Attributes = { ...metricAttributes, 'http.response.status_code': 200 };
    const lastEventId = request ? readLastEventId(request) : '';
    attributes[ATTRIBUTES.resumed] = lastEventId !== '';
    if (lastEventId !== '') attributes[ATTRIBUTES.lastEventId] = lastEventId;
    if (request) Object.assign(attributes, urlAttributes(request));
    if (run) attributes[ATTRIBUTES.runId] = run.id;
    if (topics) attributes[ATTRIBUTES.topics] = [...topics];
    const links: Link[] = [];
    const runContext = spanContextOf(run?.context);
    if (runContext)
      links.push({ context: runContext, attributes: { [ATTRIBUTES.runId]: run!.id } });
    // The client's traceparent (or the one an HTTP instrumentation made current) is the parent.
    const parent = request
      ? propagator.extract(context.active(), request.headers, HEADERS_GETTER)
      : context.active();
    const span = tracer.startSpan(
      route === undefined ? method : `${method} ${route}`,
      { kind: SpanKind.SERVER, attributes, links },
      parent,
    );
    instruments.activeStreams.add(1, metricAttributes);
    if (lastEventId !== '') instruments.serverResumes.add(1, metricAttributes);
    let bytes = 0;
    const events = new EventCount(
      instruments.serverEvents.slot(metricAttributes),
      span,
      instruments.serverTimeToFirstEvent,
      metricAttributes,
      started,
    );
    const byteTotal = instruments.serverBytes.slot(metricAttributes);
    return {
      event: () => events.add(),
      sent(count) {
        bytes += count;
        byteTotal.value += count;
      },
      end(reason, error) {
        span.setAttributes({
          [ATTRIBUTES.events]: events.count,
          [ATTRIBUTES.bytes]: bytes,
          [ATTRIBUTES.endReason]: reason,
        });
        // A producer's error, or a client dropped as too slow (its StreamError's code).
        if (reason === 'error' || reason === 'slow-consumer') failSpan(span, error, reason);
        if (reason === 'slow-consumer') instruments.slowConsumerDrops.add(1, metricAttributes);
        instruments.activeStreams.add(-1, metricAttributes);
        span.end();
      },
      within: (go) => context.with(trace.setSpan(parent, span), go),
    };
  };
}

/** The request's URL and client as the HTTP server conventions name them. */
function urlAttributes(request: Request): Attributes {
  const url = new URL(request.url);
  const scheme = url.protocol.slice(0, -1);
  const attributes: Attributes = {
    'url.path': url.pathname,
    'url.scheme': scheme,
    'server.address': url.hostname,
    'server.port': url.port === '' ? (scheme === 'https' ? 443 : 80) : Number(url.port),
  };
  const agent = request.headers.get('user-agent');
  if (agent !== null) attributes['user_agent.original'] = agent;
  return attributes;
}
