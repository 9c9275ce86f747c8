/**
 * The one serializer of a producer's events, for plain streams (src/server) and hub runs and
 * topics (src/hub): what a producer passes as `data` becomes the same wire text everywhere.
 *
 * `data` rules:
 * - a string goes as it is;
 * - `undefined` (or no `data` at all) means no `data:` line: an event that carries only an `id`
 *   (or `retry`) is recorded by clients without dispatching anything, as the spec's "dispatch
 *   the event" step does for an empty data buffer;
 * - anything else goes as `JSON.stringify(data)`; a value JSON cannot represent (a function, a
 *   symbol) throws a `TypeError`, as do cycles and BigInt (a producer bug, never sent as `""`).
 *
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html#dispatchMessage
 * @internal
 */
import { encodeEvent } from '../protocol/encode.ts';
import type { EventInput } from '../protocol/types.ts';

/** The fields of a producer's event (the shape of `EventStreamEvent` in ssekit/server). */
export interface StreamEventInput {
  data?: unknown;
  event?: string | undefined;
  id?: string | number | undefined;
  retry?: number | undefined;
}

/** A string as is, `undefined` as no data, anything else as JSON (see the module comment). */
export function serializeEventData(data: unknown): string | undefined {
  if (data === undefined || typeof data === 'string') return data;
  const json = JSON.stringify(data); // throws a TypeError for cycles and BigInt: a producer bug
  if (json === undefined) {
    throw new TypeError(
      `send: data of type ${typeof data} cannot be serialised as JSON; send a string or a JSON value.`,
    );
  }
  return json;
}

/** Encodes one producer event as wire text; throws a `TypeError` for input that cannot be encoded. */
export function encodeStreamEvent(input: StreamEventInput): string {
  if (typeof input !== 'object' || input === null) {
    throw new TypeError(
      `send: expected an event object such as { data: 'hello' }, got ${input === null ? 'null' : typeof input}.`,
    );
  }
  const fields: EventInput = {};
  const data = serializeEventData(input.data);
  if (data !== undefined) fields.data = data;
  if (input.event !== undefined) fields.event = input.event;
  if (input.id !== undefined) fields.id = String(input.id);
  if (input.retry !== undefined) fields.retry = input.retry;
  return encodeEvent(fields);
}
