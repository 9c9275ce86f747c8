/**
 * `Idempotency-Key` on a request that starts a run: the same request sent again with the same key
 * (a client that lost the connection before any response, not knowing whether the first one
 * arrived) reads the run the first one started, from its start, instead of starting a second one.
 * The key is claimed in the engine with an explicit-id append, which the engines make a
 * compare-and-set (the same entry again is a success, another one an `append-conflict`): of two
 * requests with one key, on any instances, exactly one starts a run.
 *
 * The key is scoped to the request's method and path, and stored only as a SHA-256 digest; it
 * lives as long as a run (`runTtlMs`). Like a run id, it grants read access to the run's events,
 * so it must be unguessable: a random UUID per request.
 * @see https://datatracker.ietf.org/doc/draft-ietf-httpapi-idempotency-key-header/
 */
import { EngineError, RequestError } from '../errors.ts';
import type { HubEngine } from './engine.ts';

/** The request header (IETF draft `Idempotency-Key`). */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';

// Visible ASCII, as a bare token (Stripe's form) or a structured-field string (the draft's).
const KEY = /^"?([\x21\x23-\x7e]{1,255})"?$/;

/**
 * The engine key of a request's idempotency key, `undefined` without one; a `RequestError`
 * `bad-request` for a malformed one.
 */
export async function idempotencyKeyOf(request: Request): Promise<string | undefined> {
  const value = request.headers.get(IDEMPOTENCY_KEY_HEADER);
  if (value === null) return undefined;
  const match = KEY.exec(value.trim());
  if (!match) {
    throw new RequestError(
      'bad-request',
      `The ${IDEMPOTENCY_KEY_HEADER} header must be 1 to 255 visible ASCII characters (a random UUID), got ${JSON.stringify(value.slice(0, 64))}.`,
    );
  }
  const scope = `${request.method} ${new URL(request.url).pathname}\n${match[1]}`;
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(scope));
  let hex = '';
  for (const byte of new Uint8Array(digest)) hex += byte.toString(16).padStart(2, '0');
  return `request:${hex}`;
}

/**
 * Claims `key` for `runId`: resolves with the run that holds it, `runId` when this call claimed
 * it, the run of an earlier request with the same key otherwise.
 */
export async function claimRun(
  engine: HubEngine,
  key: string,
  runId: string,
  ttlMs: number,
): Promise<string> {
  try {
    await engine.append(key, { data: runId }, { id: '0-1', ttlMs });
    return runId;
  } catch (error) {
    if (!(EngineError.isInstance(error) && error.code === 'append-conflict')) throw error;
    const [entry] = await engine.range(key, undefined, 1);
    if (entry?.event.data === undefined) throw error; // expired in between: a rare race, a 500
    return entry.event.data;
  }
}
