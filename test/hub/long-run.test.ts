/**
 * A run that outlives `runTtlMs` stays resumable: every append renews the log's TTL, and the
 * run's state is renewed with them, so a resume of a long run is never answered 404 while the
 * producer is still writing it.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { fetchEventStream } from '../../src/client/index.ts';
import { createHub, type Hub } from '../../src/hub/index.ts';
import { hubEngines } from '../helpers/hub-engines.ts';
import { serveWeb } from '../helpers/server-stream.ts';

const engines = hubEngines('long-run');
const hubs: Hub[] = [];
afterEach(async () => {
  for (const hub of hubs.splice(0)) await hub.close();
});

describe.each(Object.entries(engines))('a run longer than runTtlMs on %s', (_name, engine) => {
  test('resumes after runTtlMs has passed since the start, with every event once', async () => {
    const hub = createHub({ engine: engine(), runTtlMs: 300 });
    hubs.push(hub);
    let releaseLast!: () => void;
    const last = new Promise<void>((resolve) => {
      releaseLast = resolve;
    });
    let runs = 0;
    const server = await serveWeb((request) =>
      hub.stream(request, async (run) => {
        runs++;
        // 16 events 50 ms apart: 800 ms, well past the 300 ms TTL of the run's state.
        for (let index = 0; index < 16; index++) {
          await run.send({ event: 'token', data: String(index) });
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        await last;
      }),
    );
    try {
      const first = fetchEventStream(`${server.url}/run`, { json: {} });
      const seen: string[] = [];
      let resumeFrom = '';
      for await (const event of first) {
        seen.push(event.data);
        if (seen.length === 2) {
          resumeFrom = event.id;
          break;
        }
      }
      // Wait until the run has been going for more than its TTL, then resume from event 2.
      await new Promise((resolve) => setTimeout(resolve, 700));
      const resumed = fetchEventStream(`${server.url}/run`, { json: {}, lastEventId: resumeFrom });
      const rest: string[] = [];
      for await (const event of resumed) {
        if (event.type === 'token') rest.push(event.data);
        if (rest.length === 14) releaseLast();
      }
      expect([...seen, ...rest]).toEqual(Array.from({ length: 16 }, (_, index) => String(index)));
      expect(runs).toBe(1);
    } finally {
      releaseLast();
      await server.close();
    }
  });
});
