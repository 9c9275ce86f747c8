/**
 * The client side: a CLIENT span around a whole stream (every request it makes, resumes
 * included), the W3C trace context injected into each request, and the client's metrics. It
 * wraps a client function (`fetchEventStream`, `fetchContractStream`) through its own options
 * (`fetch`, `onEvent`, `onClose`) and its iterator: the client itself knows nothing of it.
 */
import { type Attributes, context, SpanKind, trace } from '@opentelemetry/api';
import type { CloseInfo, FetchLike } from '../client/index.ts';
import { EventCount, failSpan, HEADERS_SETTER, type Setup } from './_shared.ts';
import { ATTRIBUTES, SPAN_EVENTS } from './attributes.ts';

/** What a traced client function must look like: `fetchEventStream`'s shape. */
export type ClientFunction = (url: string | URL, options: never) => ClientStream;

/** What the traced function returns: a stream with an async iterator. */
export interface ClientStream {
  [Symbol.asyncIterator](): AsyncIterator<unknown>;
}

/** The options the wrapper reads and replaces. */
interface ClientOptions {
  method?: string | undefined;
  json?: unknown;
  fetch?: FetchLike | undefined;
  onEvent?: ((event: never) => void) | undefined;
  onClose?: ((info: CloseInfo) => void) | undefined;
}

// The header of a stop() request (src/client/_stop.ts): not an attempt of the stream.
const CANCEL_HEADER = 'ssekit-cancel';

/** Wraps a client function so that each stream it starts is traced. */
export function traceClient<F extends ClientFunction>(setup: Setup, start: F): F {
  if (typeof start !== 'function') {
    throw new TypeError(
      `telemetry.client: pass the client function to trace (fetchEventStream or fetchContractStream), got ${typeof start}.`,
    );
  }
  const traced = (url: string | URL, options: ClientOptions = {}): ClientStream => {
    const session = startSpan(setup, url, options);
    const { onEvent } = options;
    // Without onEvent the application takes events from an iterator, maybe after the stream
    // closed (they wait in its queue): the span ends when the last iterator is done too.
    let closed: CloseInfo | undefined;
    let iterating = 0;
    const stream = (
      start as unknown as (url: string | URL, options: ClientOptions) => ClientStream
    )(url, {
      ...options,
      fetch: session.fetch,
      onClose(info) {
        closed = info;
        if (onEvent || iterating === 0) session.end(info);
        options.onClose?.(info);
      },
      // With onEvent the application sees each event there; without, through the iterator
      // (adding an onEvent would change when the client starts buffering for the iterator).
      ...(onEvent && {
        onEvent: (event: never) => {
          session.event();
          onEvent(event);
        },
      }),
    });
    if (!onEvent) {
      countIterated(stream, session.event, {
        started: () => void iterating++,
        finished() {
          if (--iterating === 0 && closed) session.end(closed);
        },
      });
    }
    return stream;
  };
  return traced as unknown as F;
}

function startSpan(setup: Setup, url: string | URL, options: ClientOptions) {
  const { tracer, propagator, instruments } = setup;
  const started = performance.now();
  const method = (options.method ?? (options.json === undefined ? 'GET' : 'POST')).toUpperCase();
  const href = String(url);
  const metricAttributes: Attributes = { 'http.request.method': method };
  const attributes: Attributes = { ...metricAttributes, 'url.full': href };
  const parsed = URL.canParse(href) ? new URL(href) : undefined;
  if (parsed) {
    attributes['server.address'] = parsed.hostname;
    attributes['server.port'] =
      parsed.port === '' ? (parsed.protocol === 'https:' ? 443 : 80) : Number(parsed.port);
  }
  const parent = context.active();
  const span = tracer.startSpan(method, { kind: SpanKind.CLIENT, attributes }, parent);
  const spanContext = trace.setSpan(parent, span);
  const base: FetchLike = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  let attempts = 0;
  let resumes = 0;
  let ended = false;
  const events = new EventCount(
    instruments.clientEvents.slot(metricAttributes),
    span,
    instruments.clientTimeToFirstEvent,
    metricAttributes,
    started,
  );
  const fetch: FetchLike = (input, init) => {
    const headers = new Headers(init?.headers);
    if (!headers.has(CANCEL_HEADER) && ++attempts > 1) {
      const lastEventId = headers.get('last-event-id');
      const attributes: Attributes = { [ATTRIBUTES.attempt]: attempts };
      if (lastEventId !== null) {
        resumes++;
        attributes[ATTRIBUTES.lastEventId] = lastEventId;
        instruments.clientResumes.add(1, metricAttributes);
      }
      span.addEvent(lastEventId === null ? SPAN_EVENTS.retry : SPAN_EVENTS.resume, attributes);
    }
    propagator.inject(spanContext, headers, HEADERS_SETTER);
    return context
      .with(spanContext, () => base(input, { ...init, headers }))
      .then((response) => {
        if (!headers.has(CANCEL_HEADER)) {
          span.setAttribute('http.response.status_code', response.status);
        }
        return response;
      });
  };
  return {
    fetch,
    event: () => events.add(),
    end(info: CloseInfo) {
      if (ended) return;
      ended = true;
      span.setAttributes({
        [ATTRIBUTES.events]: events.count,
        [ATTRIBUTES.attempts]: attempts,
        [ATTRIBUTES.resumes]: resumes,
        [ATTRIBUTES.endReason]: info.reason,
      });
      if (info.reason === 'error') failSpan(span, info.error, 'error');
      span.end();
    },
  };
}

/** Counts what the stream's iterators yield, and says when each starts and is done. */
function countIterated(
  stream: ClientStream,
  count: () => void,
  hooks: { started(): void; finished(): void },
): void {
  const iterate = stream[Symbol.asyncIterator].bind(stream);
  stream[Symbol.asyncIterator] = () => {
    const iterator = iterate();
    let over = false;
    const finish = () => {
      if (over) return;
      over = true;
      hooks.finished();
    };
    hooks.started();
    const counted: AsyncIterator<unknown> & AsyncIterable<unknown> = {
      async next() {
        let result: IteratorResult<unknown>;
        try {
          result = await iterator.next();
        } catch (error) {
          finish();
          throw error;
        }
        if (result.done) finish();
        else count();
        return result;
      },
      [Symbol.asyncIterator]: () => counted,
    };
    const { return: end, throw: fail } = iterator;
    if (end) {
      counted.return = (value) => {
        const result = end.call(iterator, value);
        finish();
        return result;
      };
    }
    if (fail) {
      counted.throw = (error) => {
        const result = fail.call(iterator, error);
        finish();
        return result;
      };
    }
    return counted;
  };
}
