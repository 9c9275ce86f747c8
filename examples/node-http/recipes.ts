/**
 * The recipes of docs/server.md and docs/protocol.md, as Web handlers (each one runs on any
 * platform; serve them with `toNodeHandler` here). `test/server/recipes.test.ts` runs them all.
 */
import {
  corsPreflight,
  createEventStream,
  type EventStreamOptions,
  relayEventStream,
} from '../../src/server/index.ts';

/** A job in phases, with progress events: a slow client gets the latest progress, not a backlog. */
export function indexFiles(request: Request, files: string[]): Response {
  return createEventStream(request, async (stream) => {
    for (const [index, file] of files.entries()) {
      await stream.progress({ phase: 'indexing', fraction: (index + 1) / files.length, file });
    }
    await stream.progress({ phase: 'done', fraction: 1 });
    return { indexed: files.length }; // the payload of the done event
  });
}

/** A metrics feed: coalesced by key, so a slow dashboard sees the newest value of each metric. */
export function metrics(request: Request, read: () => { cpu: number; memory: number }): Response {
  return createEventStream(request, async (stream) => {
    while (!stream.signal.aborted) {
      const { cpu, memory } = read();
      void stream.send({ event: 'cpu', data: cpu }, { coalesce: 'cpu' });
      void stream.send({ event: 'memory', data: memory }, { coalesce: 'memory' });
      await sleep(1000, stream.signal);
    }
  });
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** A resumable feed under a time limit: ids, a deadline, and a restart after lastEventId. */
export function resumableFeed(request: Request, items: readonly string[]): Response {
  const options: EventStreamOptions = {
    maxDurationMs: 40_000, // Azure Static Web Apps cuts at 45 s
    deadlineMarginMs: 1_000,
    retryMs: 500,
    retryJitterMs: 1_000,
  };
  return createEventStream(
    request,
    async (stream) => {
      const start = stream.lastEventId === '' ? 0 : Number(stream.lastEventId) + 1;
      for (let index = start; index < items.length; index++) {
        await stream.send({ id: index, data: items[index] });
      }
    },
    options,
  );
}

/** Cross-origin: the preflight and the stream share one CORS configuration. */
const cors = { origin: ['https://app.example.com'], credentials: true };
export function crossOrigin(request: Request): Response {
  if (request.method === 'OPTIONS') return corsPreflight(request, cors);
  return createEventStream(request, [{ data: 'hello, other origin' }], { cors });
}

/** Safe errors: what the client may see is decided here; onError gets everything. */
export function withErrorMapping(request: Request, log: (error: unknown) => void): Response {
  return createEventStream(
    request,
    async () => {
      throw Object.assign(new Error('quota exceeded for org 42'), { status: 429 });
    },
    {
      onError: log,
      publicError: (error) =>
        (error as { status?: number }).status === 429
          ? { message: 'Too many requests, try again in a minute.', code: 'rate-limited' }
          : undefined, // everything else: {"message":"Internal server error"}
    },
  );
}

/** Graceful shutdown: one server-wide signal ends every stream with a retry hint. */
export const shutdown: AbortController = new AbortController();
export function untilShutdown(request: Request): Response {
  return createEventStream(
    request,
    async (stream) => {
      await stream.send({ id: '1', data: 'connected' });
      await new Promise((resolve) => stream.signal.addEventListener('abort', resolve));
    },
    { signal: shutdown.signal },
  );
}

/** A relay with a mapping: OpenAI chunks in, `token` events out. */
export async function relayOpenAI(request: Request, upstreamUrl: string): Promise<Response> {
  const upstream = await fetch(upstreamUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'fake-1',
      stream: true,
      messages: [{ role: 'user', content: 'hi' }],
    }),
    signal: request.signal,
  });
  return relayEventStream(upstream, {
    request,
    map: (event) => {
      const text = JSON.parse(event.data).choices?.[0]?.delta?.content;
      return typeof text === 'string' && text !== '' ? { event: 'token', data: text } : null;
    },
  });
}
