/**
 * A hub run named by its response: ssekit's hub answers every response of a run with
 * `ssekit-run-id`, and reads the run from its start for `Last-Event-ID: <runId>.0` (its event ids
 * are `<runId>.<n>`, counted from 1). Until the first event's id arrives, that is what a
 * reconnection sends: a response cut after its headers resumes the run the request started,
 * instead of sending the request again and starting a second one.
 * @internal
 */

/** The response header that names a hub run. */
export const RUN_ID_HEADER = 'ssekit-run-id';

/** A run id as the hub makes them: 128 random bits as 22 base64url characters. */
const RUN_ID = /^[A-Za-z0-9_-]{22}$/;

/** The `Last-Event-ID` that reads the run a response names from its start, or '' without one. */
export function runStartId(response: Response): string {
  const runId = response.headers.get(RUN_ID_HEADER)?.trim() ?? '';
  return RUN_ID.test(runId) ? `${runId}.0` : '';
}
