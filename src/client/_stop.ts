/**
 * Stop is not disconnect: a hub run goes on when its reader leaves (that is what makes it
 * resumable), so stopping it means asking the server. A hub answers every response of a run with
 * `ssekit-run-id`; the client re-sends the same request with `ssekit-cancel: <runId>`, and the hub
 * stops the producer without starting anything (202, or 409 when the run had finished, 404 when
 * it is unknown).
 * @internal
 */
import { discard, responseError } from '../_internal/http.ts';
import { methodOf } from './_connection.ts';
import type { FetchLike, StopResult } from './types.ts';

/** Sends the cancel request; never rejects (a failure is the result's `error`). */
export async function sendCancel(
  fetch: FetchLike,
  url: string,
  init: RequestInit,
  runId: string,
): Promise<StopResult> {
  try {
    const headers = new Headers(init.headers);
    headers.delete('last-event-id');
    headers.set('ssekit-cancel', runId);
    headers.set('accept', 'application/json');
    const response = await fetch(url, { ...init, headers });
    const outcome = OUTCOMES[response.status];
    if (!outcome) throw await responseError(response, methodOf(init), url);
    discard(response.body);
    return { outcome, runId };
  } catch (error) {
    return { outcome: 'failed', runId, error };
  }
}

const OUTCOMES: Record<number, StopResult['outcome'] | undefined> = {
  200: 'cancelled',
  202: 'cancelled',
  404: 'expired',
  409: 'finished',
};
