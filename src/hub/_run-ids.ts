/**
 * A run's names: its id (128 random bits as 22 base64url characters: it grants read access, so
 * it must not be guessable), the engine's keys of its log and values, the log's ids (`0-<seq>`,
 * explicit: the producer is the log's only writer) and the event ids a client sees
 * (`<runId>.<seq>`, so that a `Last-Event-ID` alone finds the run on any instance). Parsing what
 * comes back from clients is in `_validate.ts`.
 */

/** The engine's key of a run's log. */
export const logKey = (runId: string): string => `run:${runId}:log`;
/** The engine's key of a run's state: `running`, then `finished`; absent once it expired. */
export const stateKey = (runId: string): string => `run:${runId}`;
/** The engine's key of what a run's observer keeps with it (its trace context). */
export const contextKey = (runId: string): string => `run:${runId}:context`;
/** The engine's key of a run's producer lease, renewed while the producer runs. */
export const leaseKey = (runId: string): string => `lease:${runId}`;
/** The engine's key of a run's cancel flag. */
export const cancelKey = (runId: string): string => `cancel:${runId}`;

/** The log id of a run's `seq`th entry (counted from 1). */
export const logId = (seq: number): string => `0-${seq}`;
/** The sequence number of a run's log id. */
export const seqOf = (id: string): number => Number(id.slice(id.indexOf('-') + 1));
/** The id a client sees of a run's log entry: `<runId>.<seq>`. */
export const eventIdOf = (runId: string, id: string): string => `${runId}.${id.slice(2)}`;

/** A new run id: 128 random bits as 22 base64url characters. */
export function randomRunId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
