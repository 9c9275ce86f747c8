/**
 * The names ssekit/otel adds to spans and metrics, beside the OpenTelemetry HTTP semantic
 * conventions it follows where they apply (`http.request.method`, `url.path`, `url.full`,
 * `server.address`, `server.port`, `http.route`, `http.response.status_code`,
 * `user_agent.original`, `error.type`). docs/observability.md lists them with their meaning.
 *
 * @module
 */

/** Span attributes and span events. */
export const ATTRIBUTES = {
  /** `stream` (a plain stream), `run` (a hub run's response) or `topic` (a hub subscription). */
  streamKind: 'ssekit.stream.kind',
  /** True when the request carried a `Last-Event-ID` (a resume). */
  resumed: 'ssekit.stream.resumed',
  /** The `Last-Event-ID` the request carried. */
  lastEventId: 'ssekit.stream.last_event_id',
  /** Events sent (server) or delivered to the application (client). */
  events: 'ssekit.stream.events',
  /** Bytes handed to the client: events, heartbeats, the terminal event. */
  bytes: 'ssekit.stream.bytes',
  /** Seconds from the stream's start to its first event. */
  timeToFirstEvent: 'ssekit.stream.time_to_first_event',
  /** Why the stream ended: `StreamEndReason` (server) or the client's `CloseInfo.reason`. */
  endReason: 'ssekit.stream.end_reason',
  /** Requests the client made for the stream (the first, then each reconnection). */
  attempts: 'ssekit.stream.attempts',
  /** Reconnections that resumed (sent `Last-Event-ID`). */
  resumes: 'ssekit.stream.resumes',
  /** The number of a reconnection (on its span event). */
  attempt: 'ssekit.stream.attempt',
  /** The id of the hub run a span is about. */
  runId: 'ssekit.run.id',
  /** Events the run's producer sent. */
  runEvents: 'ssekit.run.events',
  /** Why the run ended: `completed`, `cancelled` or `error`. */
  runEndReason: 'ssekit.run.end_reason',
  /** The topics of a hub subscription. */
  topics: 'ssekit.topics',
} as const;

/** Span event names. */
export const SPAN_EVENTS = {
  /** The first event of a stream (server: queued; client: delivered). */
  firstEvent: 'ssekit.first_event',
  /** The client reconnected with `Last-Event-ID`. */
  resume: 'ssekit.resume',
  /** The client sent the request again (nothing to resume from yet). */
  retry: 'ssekit.retry',
} as const;

/** Metric names (units in parentheses). */
export const METRICS = {
  /** UpDownCounter (`{stream}`): streams open now. */
  activeStreams: 'ssekit.server.active_streams',
  /** Counter (`{event}`): events sent. */
  serverEvents: 'ssekit.server.events',
  /** Counter (`By`): bytes handed to clients. */
  serverBytes: 'ssekit.server.sent_bytes',
  /** Counter (`{stream}`): streams opened with `Last-Event-ID`. */
  serverResumes: 'ssekit.server.resumes',
  /** Counter (`{stream}`): clients dropped as too slow. */
  slowConsumerDrops: 'ssekit.server.slow_consumer_drops',
  /** Histogram (`s`): time from a stream's start to its first event. */
  serverTimeToFirstEvent: 'ssekit.server.time_to_first_event',
  /** UpDownCounter (`{run}`): hub runs whose producer runs now. */
  activeRuns: 'ssekit.hub.active_runs',
  /** Counter (`{event}`): events delivered to the application. */
  clientEvents: 'ssekit.client.events',
  /** Counter (`{request}`): reconnections that resumed. */
  clientResumes: 'ssekit.client.resumes',
  /** Histogram (`s`): time from the client's start to the first event delivered. */
  clientTimeToFirstEvent: 'ssekit.client.time_to_first_event',
} as const;
