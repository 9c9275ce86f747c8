/**
 * Cancelling a run over HTTP: the `ssekit-cancel` request header on the stream's own endpoint
 * (what the client's `stop()` sends) and `hub.handleCancel`, a cancel endpoint of its own. Both
 * answer JSON: 202, 409 `run-finished`, 404 `run-expired`, 400 `bad-request` (and 405 on the
 * endpoint for other methods).
 */
import { isJsonType } from '../_internal/http.ts';
import { HubError, RequestError } from '../errors.ts';
import { type CorsOptions, corsHeaders } from '../server/cors.ts';
import { readJsonBody } from '../server/read-json-body.ts';
import { controlPreflight, methodNotAllowed } from './_control-door.ts';
import { errorAnswer } from './_error-answer.ts';
import type { RunCanceller } from './_run-cancel.ts';
import { parseRunEventId, RUN_ID } from './_validate.ts';
import type { ControlEndpointOptions } from './types.ts';

/** The request header a client sends, with the run id, to cancel a run (CONTRACTS.md). */
export const CANCEL_HEADER = 'ssekit-cancel';
/** The response header that names the run of every run response (and of a cancel's answer). */
export const RUN_ID_HEADER = 'ssekit-run-id';

/** Answers a cancel request for `runId`: 202, 409 `run-finished`, 404 `run-expired`, 400. */
export async function cancelAnswer(
  runs: RunCanceller,
  request: Request,
  runId: string | undefined,
  cors: CorsOptions | undefined,
): Promise<Response> {
  if (runId === undefined || !RUN_ID.test(runId)) {
    return errorAnswer(
      request,
      new RequestError(
        'bad-request',
        `${runId === undefined ? 'No run named' : `Not a run id: ${JSON.stringify(runId.slice(0, 64))}`}. Name the run: ?runId=, a JSON body { "runId" } or { "lastEventId" }, Last-Event-ID, or the ${CANCEL_HEADER} header.`,
      ),
      cors,
    );
  }
  const state = await runs.cancel(runId);
  if (state === 'running') {
    const headers = new Headers(cors ? corsHeaders(request, cors) : undefined);
    headers.set('content-type', 'application/json; charset=utf-8');
    headers.set('cache-control', 'no-store');
    headers.set(RUN_ID_HEADER, runId);
    return new Response(JSON.stringify({ cancelled: true, runId }), { status: 202, headers });
  }
  return errorAnswer(
    request,
    state === 'finished'
      ? new HubError('run-finished', 'The run already finished.')
      : new HubError('run-expired', 'No such run, or it expired.'),
    cors,
  );
}

/** `hub.handleCancel`: a cancel endpoint for POST or DELETE; see `Hub.handleCancel`. */
export async function handleCancel(
  runs: RunCanceller,
  request: Request,
  options: ControlEndpointOptions = {},
): Promise<Response> {
  const { cors } = options;
  const preflight = controlPreflight(request, cors);
  if (preflight) return preflight;
  const named = request.headers.get(CANCEL_HEADER);
  if (named !== null) return cancelAnswer(runs, request, named.trim(), cors);
  const refused = methodNotAllowed(request, cors, ['POST', 'DELETE'], 'a cancel endpoint');
  if (refused) return refused;
  let runId: string | undefined;
  try {
    runId = await cancelTarget(request);
  } catch (error) {
    return errorAnswer(request, error, cors);
  }
  return cancelAnswer(runs, request, runId, cors);
}

/** The run a cancel request names, undefined when it names none; a `RequestError` for a bad body. */
async function cancelTarget(request: Request): Promise<string | undefined> {
  const url = new URL(request.url);
  const fromQuery = url.searchParams.get('runId');
  if (fromQuery !== null) return fromQuery;
  let body: unknown;
  if (isJsonType(request.headers.get('content-type')) && request.body !== null) {
    body = await readJsonBody(request, { maxBytes: 16_384 });
  }
  if (typeof body === 'object' && body !== null) {
    const { runId, lastEventId } = body as { runId?: unknown; lastEventId?: unknown };
    if (typeof runId === 'string') return runId;
    if (typeof lastEventId === 'string') return runIdOrRaw(lastEventId);
  }
  const header = request.headers.get('last-event-id');
  return header ? runIdOrRaw(header) : undefined;
}

// The run id of an event id; the id itself when it is none, so that it is refused as malformed.
function runIdOrRaw(eventId: string): string {
  return parseRunEventId(eventId)?.runId ?? eventId;
}
