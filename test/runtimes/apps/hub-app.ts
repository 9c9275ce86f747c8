/**
 * The hub under test (ssekit/hub), bundled from the packed package and served by Deno.serve,
 * Bun.serve and workerd (no nodejs_compat). The hub is created at module scope, as the README's
 * quick start shows: its construction must do no I/O, start no timer and draw no random value
 * (workerd refuses all three outside a request and fails the whole Worker).
 */
import { createHub } from 'ssekit/hub';

interface ExecutionContext {
  waitUntil(promise: Promise<unknown>): void;
}

/** How many subscriptions of each topic ended because their client left. */
const left: Record<string, number> = {};

const hub = createHub({
  observe: {
    stream: ({ topics }) =>
      topics && {
        event() {},
        sent() {},
        end(reason) {
          if (reason !== 'client-left') return;
          for (const topic of topics) left[topic] = (left[topic] ?? 0) + 1;
        },
      },
  },
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function route(request: Request, context: ExecutionContext | undefined): Promise<Response> {
  const url = new URL(request.url);
  const topic = url.searchParams.get('topic') ?? 'news';
  switch (url.pathname) {
    case '/hub':
      // A resumable run: 8 events, 30 ms apart, detached from the connection. On workerd the
      // detached producer is kept alive with ctx.waitUntil.
      return hub.stream(
        request,
        async (run) => {
          for (let index = 0; index < 8; index++) {
            await run.send({ event: 'step', data: { index } });
            await sleep(30);
          }
          return { steps: 8 };
        },
        context ? { waitUntil: (promise) => context.waitUntil(promise) } : {},
      );
    case '/publish': {
      const event = (await request.json()) as { event: string; data: unknown };
      return Response.json({ id: await hub.publish(topic, event) });
    }
    case '/subscribe':
      return hub.subscribe(request, topic, {
        heartbeatMs: Number(url.searchParams.get('heartbeat') ?? 60_000),
      });
    case '/left':
      return Response.json(left[topic] ?? 0);
    default:
      return Response.json({ error: 'not found' }, { status: 404 });
  }
}

export default {
  fetch(request: Request, _env?: unknown, context?: ExecutionContext): Promise<Response> {
    return route(request, context);
  },
};
