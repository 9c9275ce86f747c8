/**
 * How the producing phase of a stream ended, and the terminal event that says so on the wire.
 */
import { serializeEventData } from '../_internal/serialize-event.ts';
import { encodeEvent } from '../protocol/encode.ts';
import type { ResolvedEventStreamOptions } from './options.ts';
import { defaultPublicError, type PublicError } from './public-error.ts';

/** How the producing phase of a stream ended. */
export type Outcome =
  | { kind: 'done'; value: unknown }
  | { kind: 'error'; error: unknown }
  | { kind: 'deadline' };

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
    data = serializeEventData(outcome.value ?? {}) ?? '{}';
  } catch (error) {
    report(error);
    data = '{}';
  }
  return encodeEvent({ event: 'done', data });
}
