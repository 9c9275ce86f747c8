/**
 * `hub.handleTopics`: the control endpoint of multiplexed connections. POST, JSON
 * `{ "connection": "<id>", "add"?: [topics], "remove"?: [topics] }`: the topics to add are
 * authorized here (with this request), and the decision reaches the connection on whichever
 * instance holds it (src/hub/_multiplex.ts). Answers 202 `{ connection, added, removed, denied }`;
 * the connection itself announces the change in its stream (`subscribed`, `unsubscribed`,
 * `topic-error`). With `cors`, a preflight is answered and every answer carries the CORS headers,
 * as the streams' answers do.
 */
import { RequestError } from '../errors.ts';
import { corsHeaders } from '../server/cors.ts';
import { readJsonBody } from '../server/read-json-body.ts';
import { controlPreflight, methodNotAllowed } from './_control-door.ts';
import { errorAnswer } from './_error-answer.ts';
import type { Multiplex } from './_multiplex.ts';
import { RUN_ID } from './_validate.ts';
import type { ControlEndpointOptions } from './types.ts';

/** The request header a client may name its connection with, instead of the body's `connection`. */
export const CONNECTION_HEADER = 'ssekit-connection';

export async function handleTopics(
  multiplex: Multiplex,
  request: Request,
  options: ControlEndpointOptions = {},
): Promise<Response> {
  const { cors } = options;
  const preflight = controlPreflight(request, cors);
  if (preflight) return preflight;
  const refused = methodNotAllowed(request, cors, ['POST'], 'a topics endpoint');
  if (refused) return refused;
  let connection: string;
  let add: string[];
  let remove: string[];
  try {
    ({ connection, add, remove } = await readControl(multiplex, request));
  } catch (error) {
    return errorAnswer(request, error, cors);
  }
  const { allowed, denied } = await multiplex.authorize(add, request);
  try {
    await multiplex.control(connection, allowed, remove, denied);
  } catch (error) {
    multiplex.settings.onError(error);
    return errorAnswer(request, error, cors);
  }
  const headers = new Headers(cors ? corsHeaders(request, cors) : undefined);
  headers.set('content-type', 'application/json; charset=utf-8');
  headers.set('cache-control', 'no-store');
  return new Response(JSON.stringify({ connection, added: allowed, removed: remove, denied }), {
    status: 202,
    headers,
  });
}

async function readControl(
  multiplex: Multiplex,
  request: Request,
): Promise<{ connection: string; add: string[]; remove: string[] }> {
  const body = await readJsonBody(request, { maxBytes: 65_536 });
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new RequestError(
      'bad-request',
      'Expected a JSON object { "connection", "add"?: [topics], "remove"?: [topics] }.',
    );
  }
  const fields = body as { connection?: unknown; add?: unknown; remove?: unknown };
  const connection = request.headers.get(CONNECTION_HEADER) ?? fields.connection;
  if (typeof connection !== 'string' || !RUN_ID.test(connection)) {
    throw new RequestError(
      'bad-request',
      `Not a connection id: ${JSON.stringify(String(connection).slice(0, 64))} (the "connection" of the stream's subscribed event).`,
    );
  }
  const lists: string[][] = [];
  for (const name of ['add', 'remove'] as const) {
    const list = fields[name] ?? [];
    if (!Array.isArray(list)) {
      throw new RequestError('bad-request', `"${name}" must be an array of topic names.`);
    }
    const problem = multiplex.topicsProblem(list);
    if (problem !== undefined) throw new RequestError('bad-request', `"${name}": ${problem}`);
    lists.push([...new Set(list as string[])]);
  }
  return { connection, add: lists[0]!, remove: lists[1]! };
}
