/**
 * ssekit/otel: OpenTelemetry for event streams. Spans, metrics and W3C trace context for the
 * server, the hub and the client, plugged into the core's observer hooks (`observe`). Needs
 * `@opentelemetry/api`, an optional peer dependency that no other entry point imports.
 *
 * @module
 */

export type { ClientFunction, ClientStream } from './_client.ts';
export { ATTRIBUTES, METRICS, SPAN_EVENTS } from './attributes.ts';
export { createTelemetry, type Telemetry, type TelemetryOptions } from './telemetry.ts';
