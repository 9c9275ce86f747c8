/**
 * The server side under test (ssekit/server), bundled from the packed package and served by
 * Deno.serve, Bun.serve and workerd (no nodejs_compat): one Web fetch handler, the routes below,
 * state in the module (one isolate per runtime process). The hub has its own app (hub-app.ts).
 */
import { createEventStream } from 'ssekit/server';

/** Producers that saw their signal abort, by name (read with GET /aborted?name=). */
const aborted = new Set<string>();
/** Producers that were started, by name. */
const started = new Set<string>();

export const TOKENS: readonly string[] = [
  'Hel',
  'lo',
  ', ',
  'wörld',
  ' 👋🏽',
  ' 日本語',
  '\u00a0',
  '!',
];

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

function json(body: unknown, status = 200): Response {
  return Response.json(body, { status });
}

async function route(request: Request): Promise<Response> {
  const url = new URL(request.url);
  const name = url.searchParams.get('name') ?? '';
  switch (url.pathname) {
    case '/runtime':
      return json({ userAgent: globalThis.navigator?.userAgent ?? '' });
    case '/tokens':
      // POST {"prompt"}: the tokens (multibyte, astral, NBSP), one per event, then done.
      return createEventStream(request, async (stream) => {
        const { prompt } = (await request.json()) as { prompt: string };
        await stream.send({ event: 'prompt', data: { prompt } });
        for (const [index, text] of TOKENS.entries()) {
          await stream.send({ event: 'token', id: index + 1, data: text });
        }
        return { tokens: TOKENS.length };
      });
    case '/fail':
      return createEventStream(
        request,
        async (stream) => {
          await stream.send({ data: 'before' });
          throw new Error('secret internal detail');
        },
        { onError: () => {} },
      );
    case '/heartbeat':
    case '/heartbeat-short':
      return createEventStream(
        request,
        async (stream) => {
          await sleep(url.pathname === '/heartbeat-short' ? 120 : 350);
          await stream.send({ data: 'after the quiet' });
        },
        { heartbeatMs: 100 },
      );
    case '/deadline':
      // ids 0..9, one every 40 ms, a 300 ms deadline: several responses, resumed by id.
      return createEventStream(
        request,
        async (stream) => {
          const from = stream.lastEventId === '' ? 0 : Number(stream.lastEventId) + 1;
          for (let index = from; index < 10 && !stream.signal.aborted; index++) {
            await stream.send({ id: index, data: `item ${index}` });
            await sleep(40, stream.signal);
          }
        },
        { maxDurationMs: 300, deadlineMarginMs: 50, retryMs: 10, retryJitterMs: 0 },
      );
    case '/disconnect':
      // Sends one event, then waits for its signal: the client leaving must abort it.
      started.add(name);
      return createEventStream(
        request,
        async (stream) => {
          // Recorded in the listener itself: workerd drops the continuations of a request whose
          // client left, so code after an `await` may never run there.
          stream.signal.addEventListener('abort', () => aborted.add(name), { once: true });
          await stream.send({ data: 'waiting' });
          await untilAborted(stream.signal);
        },
        { heartbeatMs: 200 },
      ); // workerd notices a client that left only when it writes
    case '/aborted':
      return json({ started: started.has(name), aborted: aborted.has(name) });
    default:
      return json({ error: 'not found' }, 404);
  }
}

export default {
  fetch(request: Request): Promise<Response> {
    return route(request);
  },
};
