/**
 * A Worker on ssekit/hub/durable-object, bundled from the packed package and run by workerd with
 * the HubObject class bound as `HUB` (no nodejs_compat). Two faces:
 *
 * - the hub as an application uses it, created per request (`/hub`, `/publish`, `/subscribe`,
 *   `/cancel`);
 * - `/engine/*`, the engine itself driven over HTTP, so that the shared conformance suite (in
 *   Node) runs against the engine as it runs in the Worker: each call is one request, each tail
 *   and cancel listener a streamed response that lives as long as Node reads it.
 */
import { createHub } from 'ssekit/hub';
import {
  createDurableObjectEngine,
  type DurableObjectNamespaceLike,
  HubObject,
} from 'ssekit/hub/durable-object';

export { HubObject };

interface Env {
  HUB: DurableObjectNamespaceLike;
}

interface ExecutionContext {
  waitUntil(promise: Promise<unknown>): void;
}

type Engine = ReturnType<typeof createDurableObjectEngine>;

const engines = new Map<string, Engine>();
let engineCount = 0;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const encoder = new TextEncoder();
const line = (value: unknown) => encoder.encode(`${JSON.stringify(value)}\n`);

function failure(error: unknown) {
  const { name, message, code } = error as { name?: string; message?: string; code?: string };
  return { name, message, code };
}

/** A streamed answer: `start` gets a writer of lines and returns what stops it. */
function lines(start: (send: (value: unknown) => void) => () => void): Response {
  let stop: (() => void) | undefined;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      stop = start((value) => {
        try {
          controller.enqueue(line(value));
        } catch {
          // The reader left.
        }
      });
    },
    cancel() {
      stop?.();
    },
  });
  return new Response(body, { headers: { 'content-type': 'application/x-ndjson' } });
}

async function engineRoute(url: URL, request: Request, env: Env): Promise<Response> {
  const id = url.searchParams.get('engine') ?? '';
  const engine = engines.get(id);
  switch (url.pathname) {
    case '/engine/create': {
      const created = String(++engineCount);
      engines.set(created, createDurableObjectEngine({ namespace: env.HUB, prefix: 'c:' }));
      return Response.json({ engine: created });
    }
    case '/engine/call': {
      const { method, args } = (await request.json()) as { method: string; args: unknown[] };
      try {
        const call = (engine as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[
          method
        ]!;
        // JSON has no undefined: null stands for it (range's `after`).
        const values = args.map((arg) => (arg === null ? undefined : arg));
        return Response.json({ ok: true, value: await call(...values) });
      } catch (error) {
        return Response.json({ ok: false, error: failure(error) });
      }
    }
    case '/engine/tail':
      return lines((send) => {
        const tail = engine!.tail(
          url.searchParams.get('key')!,
          (entry) => send({ entry }),
          (error) => send({ error: failure(error) }),
        );
        tail.ready.then(
          () => send({ ready: true }),
          (error) => send({ readyError: failure(error) }),
        );
        return () => tail.close();
      });
    case '/engine/cancels':
      return lines((send) => {
        send({ subscribed: true });
        return engine!.onCancel((runId) => send({ runId }));
      });
    case '/engine/close':
      await engine?.close();
      engines.delete(id);
      return Response.json({ ok: true });
    default:
      return Response.json({ error: 'not found' }, { status: 404 });
  }
}

async function route(request: Request, env: Env, context: ExecutionContext): Promise<Response> {
  const url = new URL(request.url);
  if (url.pathname.startsWith('/engine/')) return engineRoute(url, request, env);
  // A hub per request: workerd ties each tail's connection to the request that opened it.
  const hub = createHub({ engine: createDurableObjectEngine({ namespace: env.HUB }) });
  const topic = url.searchParams.get('topic') ?? 'news';
  switch (url.pathname) {
    case '/hub': {
      const steps = Number(url.searchParams.get('steps') ?? 8);
      return hub.stream(
        request,
        async (run) => {
          for (let index = 0; index < steps; index++) {
            run.signal.throwIfAborted(); // cancelled: the run ends with done {"cancelled":true}
            await run.send({ event: 'step', data: { index } });
            await sleep(30);
          }
          return { steps };
        },
        { waitUntil: (promise) => context.waitUntil(promise) },
      );
    }
    case '/cancel':
      return hub.handleCancel(request);
    case '/publish': {
      const event = (await request.json()) as { event: string; data: unknown };
      return Response.json({ id: await hub.publish(topic, event) });
    }
    case '/subscribe':
      return hub.subscribe(request, topic, { heartbeatMs: 60_000 });
    default:
      return Response.json({ error: 'not found' }, { status: 404 });
  }
}

export default {
  fetch(request: Request, env: Env, context: ExecutionContext): Promise<Response> {
    return route(request, env, context);
  },
};
