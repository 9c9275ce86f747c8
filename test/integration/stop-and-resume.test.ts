/**
 * The client and the hub together, on real sockets through the Node adapter, on the memory and
 * the Redis engine: the contracts each side was built to (ssekit-run-id / ssekit-cancel, the
 * deadline's `retry:` hint, Last-Event-ID resume) hold end to end, and the producer runs once.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { fetchEventStream } from '../../src/client/index.ts';
import { createHub, type Hub } from '../../src/hub/index.ts';
import type { ServerSentEvent } from '../../src/protocol/types.ts';
import type { TestServer } from '../helpers/http-server.ts';
import { hubEngines, windowFactor } from '../helpers/hub-engines.ts';
import { deferred, serveWeb } from '../helpers/server-stream.ts';

const engines = hubEngines('integration');
const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function serveHub(
  hub: Hub,
  producer: Parameters<Hub['stream']>[1],
  options: Parameters<Hub['stream']>[2] = {},
): Promise<TestServer> {
  const server = await serveWeb((request) => hub.stream(request, producer, options));
  cleanup.push(
    () => server.close(),
    () => hub.close(),
  );
  return server;
}

describe.each(Object.entries(engines))('client and hub on %s', (name, engine) => {
  test('stop() stops the producer on the server, not only the connection; one run', async () => {
    const hub = createHub({ engine: engine() });
    let runs = 0;
    const aborted = deferred<unknown>();
    const server = await serveHub(hub, async (run) => {
      runs++;
      run.signal.addEventListener('abort', () => aborted.resolve(run.signal.reason), {
        once: true,
      });
      for (let index = 0; ; index++) {
        await run.send({ event: 'token', data: { index } });
        await new Promise((resolve) => setTimeout(resolve, 5));
        run.signal.throwIfAborted();
      }
    });
    const stream = fetchEventStream(`${server.url}/chat`, {
      json: { prompt: 'go' },
      retry: { initialDelayMs: 5 },
    });
    const seen: ServerSentEvent[] = [];
    for await (const event of stream) {
      seen.push(event);
      if (seen.length === 3) break;
    }
    // The break closed the connection only: the detached producer goes on until stopped.
    await stream.finished;
    expect(stream.readyState).toBe('closed');
    const second = fetchEventStream(`${server.url}/chat`, {
      json: { prompt: 'go' },
      lastEventId: seen[2]!.id,
    });
    const iterator = second[Symbol.asyncIterator]();
    const next = await iterator.next();
    expect(next.value?.id).toBe(seen[2]!.id.replace(/\.\d+$/, '.4'));
    const result = await second.stop();
    expect(result.outcome).toBe('cancelled');
    const reason = (await aborted.promise) as { code?: string };
    expect(reason.code).toBe('run-cancelled');
    expect(runs).toBe(1);
    expect(server.requests).toBe(3); // the first, the resume, the cancel: never a re-run
  });

  test('a run longer than its deadline resumes through every response, no event twice', async () => {
    const hub = createHub({ engine: engine() });
    let runs = 0;
    const server = await serveHub(
      hub,
      async (run) => {
        runs++;
        for (let index = 0; index < 12; index++) {
          await run.send({ event: 'token', data: String(index) });
          await new Promise((resolve) => setTimeout(resolve, 25 * windowFactor(name)));
        }
        return { tokens: 12 };
      },
      {
        maxDurationMs: 100 * windowFactor(name),
        deadlineMarginMs: 20,
        retryMs: 5,
        retryJitterMs: 0,
      },
    );
    const tokens: string[] = [];
    let planned = 0;
    const stream = fetchEventStream(`${server.url}/chat`, {
      json: { prompt: 'long' },
      onRetry: () => {
        planned++;
      },
    });
    for await (const event of stream) {
      if (event.type === 'token') tokens.push(event.data);
    }
    expect(tokens).toEqual(Array.from({ length: 12 }, (_, index) => String(index)));
    expect(planned).toBeGreaterThanOrEqual(2); // at least three responses
    expect(server.requests).toBe(planned + 1);
    expect(runs).toBe(1);
  });
});
