/**
 * The chat's routes, whichever hub serves them: `POST /api/chat` streams an answer as a hub run
 * (detached from the connection, kept alive with `ctx.waitUntil`), `/api/chat/cancel` stops one.
 */

import { RequestError } from 'ssekit';
import type { Hub } from 'ssekit/hub';
import { readJsonBody } from 'ssekit/server';
import { fakeModel } from './model.ts';

export async function chat(hub: Hub, request: Request, ctx: ExecutionContext): Promise<Response> {
  const { pathname } = new URL(request.url);
  if (pathname === '/api/chat/cancel') return hub.handleCancel(request);
  if (pathname !== '/api/chat') return new Response('Not found', { status: 404 });
  return hub.stream(
    request,
    async (run) => {
      const { prompt } = (await readJsonBody(run.request)) as { prompt?: unknown };
      if (typeof prompt !== 'string' || prompt === '') {
        throw new RequestError('bad-request', 'Send {"prompt": "..."}.');
      }
      for await (const token of fakeModel(prompt, run.signal)) {
        await run.send({ event: 'token', data: token });
      }
    },
    { waitUntil: (promise) => ctx.waitUntil(promise) },
  );
}
