/**
 * From the producer's events to protocol text, through the package's one encoder.
 */
import { encodeEvent } from '../protocol/encode.ts';
import type { EventInput } from '../protocol/types.ts';
import type { EventStreamEvent } from './event-stream.ts';
import type { ResolvedEventStreamOptions } from './options.ts';
import { defaultPublicError, type PublicError } from './public-error.ts';

/** How the producing phase of a stream ended. */
export type Outcome =
  | { kind: 'done'; value: unknown }
  | { kind: 'error'; error: unknown }
  | { kind: 'deadline' };

/** Encodes one {@link EventStreamEvent}; throws a `TypeError` for input that cannot be encoded. */
export function encodeStreamEvent(input: EventStreamEvent): string {
  if (typeof input !== 'object' || input === null) {
    throw new TypeError(
      `send: expected an event object such as { data: 'hello' }, got ${input === null ? 'null' : typeof input}.`,
    );
  }
  const fields: EventInput = {};
  const data = serialiseData(input.data);
  if (data !== undefined) fields.data = data;
  if (input.event !== undefined) fields.event = input.event;
  if (input.id !== undefined) fields.id = String(input.id);
  if (input.retry !== undefined) fields.retry = input.retry;
  return encodeEvent(fields);
}

/** A string as is, `undefined` as no data, anything else as JSON. */
export function serialiseData(data: unknown): string | undefined {
  if (data === undefined || typeof data === 'string') return data;
  const json = JSON.stringify(data); // throws a TypeError for cycles and BigInt: a producer bug
  if (json === undefined) {
    throw new TypeError(
      `send: data of type ${typeof data} cannot be serialised as JSON; send a string or a JSON value.`,
    );
  }
  return json;
}

/** The terminal event of an outcome: `done`, `error` or, at the deadline, a `retry:` hint. */
export function terminalText(
  outcome: Outcome,
  options: ResolvedEventStreamOptions,
  report: (error: unknown) => void,
): string | undefined {
  if (outcome.kind === 'deadline') {
    const jitter = Math.floor(Math.random() * options.retryJitterMs);
    return encodeEvent({ retry: options.retryMs + jitter });
  }
  if (!options.terminalEvents) return undefined;
  if (outcome.kind === 'error') {
    let payload: PublicError;
    try {
      payload = options.publicError?.(outcome.error) ?? defaultPublicError(outcome.error);
    } catch (mapError) {
      report(mapError);
      payload = defaultPublicError(undefined);
    }
    return encodeEvent({ event: 'error', data: JSON.stringify(payload) });
  }
  let data: string;
  try {
    data = serialiseData(outcome.value ?? {}) ?? '{}';
  } catch (error) {
    report(error);
    data = '{}';
  }
  return encodeEvent({ event: 'done', data });
}
