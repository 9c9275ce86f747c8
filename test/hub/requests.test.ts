/**
 * What reaches the hub from requests: run ids, event ids and topic names are checked against their
 * format before they touch an engine (a malformed one is a 400 JSON error, an unknown run a 404) on
 * every endpoint, on both engines; every run response names its run (`ssekit-run-id`), and the
 * same request again with `ssekit-cancel: <runId>` cancels it (CONTRACTS.md, "Stop is not
 * disconnect").
 */
import { afterEach, describe, expect, test } from 'vitest';
import {
  EventSource,
  type FetchLike,
  fetchEventStream,
  type ServerSentEvent,
} from '../../src/client/index.ts';
import { createHub, type Hub, type HubEngine } from '../../src/hub/index.ts';
import { ResponseError } from '../../src/index.ts';
import { hubEngines, windowFactor } from '../helpers/hub-engines.ts';

const engines: Record<string, () => HubEngine> = hubEngines('hub-requests');
const UNKNOWN_RUN = 'AAAAAAAAAAAAAAAAAAAAAA';
const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function errorOf(response: Response): Promise<[number, string, string | null]> {
  const body = (await response.json()) as { error: { code: string } };
  return [response.status, body.error.code, response.headers.get('content-type')];
}

describe.each(Object.keys(engines))('requests to a hub on the %s engine', (engineName) => {
  let hub: Hub;
  let engine: HubEngine;
  const errors: unknown[] = [];
  afterEach(async () => {
    await hub?.close();
    await engine?.close();
    errors.length = 0;
  });
  const makeHub = () => {
    engine = engines[engineName]!();
    hub = createHub({ engine, onError: (error) => errors.push(error) });
    return hub;
  };

  /** Starts a run that waits for `release`, and reads its first event. */
  async function startRun(release: Promise<void>) {
    let starts = 0;
    const handler = (request: Request) =>
      hub.stream(request, async (run) => {
        starts++;
        await run.send({ data: 'first' });
        const aborted = new Promise((resolve) => {
          if (run.signal.aborted) resolve(undefined);
          run.signal.addEventListener('abort', resolve);
        });
        await Promise.race([release, aborted]);
        run.signal.throwIfAborted();
        await run.send({ data: 'second' });
      });
    const response = await handler(new Request('http://hub.test/chat', { method: 'POST' }));
    const runId = response.headers.get('ssekit-run-id')!;
    return { handler, response, runId, starts: () => starts };
  }

  test('every run response names its run: the first one and every resume', async () => {
    makeHub();
    let release!: () => void;
    const { handler, response, runId } = await startRun(new Promise((r) => (release = r)));
    expect(runId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    await response.body!.cancel();
    const resumed = await handler(
      new Request('http://hub.test/chat', {
        method: 'POST',
        headers: { 'last-event-id': `${runId}.1` },
      }),
    );
    expect([resumed.status, resumed.headers.get('ssekit-run-id')]).toEqual([200, runId]);
    release();
    const text = await resumed.text();
    expect(text).toContain(`id: ${runId}.2\ndata: second\n`);
  });

  test('ssekit-cancel: 202 for a running run (its producer stops), never a new run; then 409', async () => {
    makeHub();
    const { handler, response, runId, starts } = await startRun(new Promise(() => {}));
    const cancel = () =>
      handler(
        new Request('http://hub.test/chat', {
          method: 'POST',
          headers: { 'ssekit-cancel': runId, 'content-type': 'application/json' },
          body: '{"prompt":"the same body again"}',
        }),
      );
    const accepted = await cancel();
    expect([accepted.status, await accepted.json()]).toEqual([202, { cancelled: true, runId }]);
    expect(accepted.headers.get('ssekit-run-id')).toBe(runId);
    const text = await response.text();
    expect(text).toContain('event: done\n');
    expect(text).toContain('data: {"cancelled":true}\n');
    const again = await cancel();
    expect(await errorOf(again)).toEqual([409, 'run-finished', 'application/json; charset=utf-8']);
    expect(starts()).toBe(1);
  });

  test('ssekit-cancel: 404 for an unknown run, 400 for a malformed id; no run is started', async () => {
    makeHub();
    let starts = 0;
    const handler = (request: Request) =>
      hub.stream(request, async () => {
        starts++;
      });
    for (const [value, status, code] of [
      [UNKNOWN_RUN, 404, 'run-expired'],
      ['', 400, 'bad-request'],
      [`${UNKNOWN_RUN}:log`, 400, 'bad-request'],
      ['../../etc', 400, 'bad-request'],
    ] as const) {
      const response = await handler(
        new Request('http://hub.test/chat', {
          method: 'POST',
          headers: { 'ssekit-cancel': value },
        }),
      );
      expect((await errorOf(response)).slice(0, 2)).toEqual([status, code]);
    }
    // hub.handleCancel hears the header too, whatever the method of the stream it repeats.
    const viaEndpoint = await hub.handleCancel(
      new Request('http://hub.test/chat', { headers: { 'ssekit-cancel': UNKNOWN_RUN } }),
    );
    expect((await errorOf(viaEndpoint)).slice(0, 2)).toEqual([404, 'run-expired']);
    expect(starts).toBe(0);
  });

  test('the cancel endpoint: every way to name a run is checked; 202, 409, 404, 400', async () => {
    makeHub();
    const { runId } = await startRun(new Promise(() => {}));
    const cancel = (url: string, init: RequestInit = {}) =>
      hub.handleCancel(new Request(`http://hub.test${url}`, { method: 'POST', ...init }));
    const json = (body: string) => ({ body, headers: { 'content-type': 'application/json' } });
    const cases: Array<[string, RequestInit, number, string]> = [
      [`/cancel?runId=${runId}:log`, {}, 400, 'bad-request'], // Redis answered WRONGTYPE: a 500
      [`/cancel?runId=${UNKNOWN_RUN}`, {}, 404, 'run-expired'],
      ['/cancel?runId=', {}, 400, 'bad-request'],
      ['/cancel', json(`{"runId":"${runId}\\n"}`), 400, 'bad-request'],
      ['/cancel', json(`{"lastEventId":"${runId}.x"}`), 400, 'bad-request'],
      ['/cancel', json(`{"lastEventId":"${UNKNOWN_RUN}.3"}`), 404, 'run-expired'],
      ['/cancel', json('{"runId":'), 400, 'bad-request'],
      ['/cancel', { headers: { 'last-event-id': 'garbage' } }, 400, 'bad-request'],
      ['/cancel', {}, 400, 'bad-request'],
    ];
    for (const [url, init, status, code] of cases) {
      expect([url, ...(await errorOf(await cancel(url, init))).slice(0, 2)]).toEqual([
        url,
        status,
        code,
      ]);
    }
    const accepted = await cancel('/cancel', { headers: { 'last-event-id': `${runId}.1` } });
    expect([accepted.status, await accepted.json()]).toEqual([202, { cancelled: true, runId }]);
    // The run ends once its producer has seen the abort and the engine stored its end (a write to
    // PostgreSQL or Redis): until then it is still running and a cancel is accepted again.
    await expect
      .poll(async () => (await cancel(`/cancel?runId=${runId}`)).status, { interval: 5 })
      .toBe(409);
    expect((await errorOf(await cancel(`/cancel?runId=${runId}`))).slice(0, 2)).toEqual([
      409,
      'run-finished',
    ]);
    expect(errors).toEqual([]); // nothing reached the engine as a bad key
  });

  test('resume: a malformed Last-Event-ID is a 400, an unknown run a 404, both JSON with CORS', async () => {
    makeHub();
    const cors = { origin: 'https://app.example' };
    const resume = (lastEventId: string, origin = true) =>
      hub.stream(
        new Request('http://hub.test/chat', {
          method: 'POST',
          headers: { 'last-event-id': lastEventId, ...(origin ? { origin: cors.origin } : {}) },
        }),
        async () => {
          throw new Error('a resume never starts the producer');
        },
        { cors },
      );
    for (const [id, status, code] of [
      [`${UNKNOWN_RUN}.3`, 404, 'run-expired'],
      [`${UNKNOWN_RUN}.03`, 400, 'bad-request'],
      [`${UNKNOWN_RUN}.3:log`, 400, 'bad-request'],
      [`${UNKNOWN_RUN}`, 400, 'bad-request'],
      ['1700000000000-0', 400, 'bad-request'],
      [`${UNKNOWN_RUN}.99999999999999999999`, 400, 'bad-request'],
    ] as const) {
      const response = await resume(id);
      expect(response.headers.get('access-control-allow-origin')).toBe(cors.origin);
      expect([id, ...(await errorOf(response)).slice(0, 2)]).toEqual([id, status, code]);
    }
    expect(errors).toEqual([]);
  });

  test('subscribe: a malformed topic or Last-Event-ID is a 400; publish refuses a bad topic at once', async () => {
    makeHub();
    for (const topic of ['', 'a\nb', 'x'.repeat(257), 'bad\u0000', '\ud800']) {
      const response = await hub.subscribe(new Request('http://hub.test/t'), topic);
      expect((await errorOf(response)).slice(0, 2)).toEqual([400, 'bad-request']);
      expect(() => hub.publish(topic, { data: 'x' })).toThrow(TypeError);
    }
    for (const lastEventId of ['nope', `${UNKNOWN_RUN}.1`, '1-2-3', '1700000000000-0:x']) {
      const response = await hub.subscribe(
        new Request('http://hub.test/t', { headers: { 'last-event-id': lastEventId } }),
        'news',
      );
      expect((await errorOf(response)).slice(0, 2)).toEqual([400, 'bad-request']);
    }
    // Any other name is a topic: unicode, separators, what a key would not survive unprefixed.
    for (const topic of ['chat/über', 'run:x:log', 'a b', '📈']) {
      expect(await hub.publish(topic, { data: 'ok' })).toMatch(/^\d+-\d+$/);
    }
    expect(errors).toEqual([]);
  });

  test('a resume of a run that is gone ends fetchEventStream and the EventSource class: no reconnect loop', async () => {
    makeHub();
    const other = createHub({ onError: () => {} }); // the instance that never heard of the run
    let requests = 0;
    const fetch: FetchLike = async (input, init) => {
      const request = new Request(input, init);
      requests++;
      // The first response ends at its deadline; the resume lands where the run is unknown.
      if (!request.headers.has('last-event-id')) {
        return hub.stream(
          request,
          async (run) => {
            // Longer than the deadline on every engine (the window scales with the engine).
            for (let index = 1; index <= 100 * windowFactor(engineName); index++) {
              await run.send({ data: String(index) });
              await tick(5);
            }
          },
          {
            maxDurationMs: 50 * windowFactor(engineName) + 10,
            deadlineMarginMs: 10,
            retryMs: 1,
            retryJitterMs: 0,
          },
        );
      }
      return other.stream(request, async () => {});
    };
    const events: ServerSentEvent[] = [];
    const error = await (async () => {
      for await (const event of fetchEventStream('http://hub.test/chat', {
        fetch,
        method: 'POST',
        retry: { initialDelayMs: 1, maxDelayMs: 5 },
      }))
        events.push(event);
    })().catch((e) => e);
    expect(events.length).toBeGreaterThan(0);
    expect(ResponseError.isInstance(error)).toBe(true);
    expect(error.status).toBe(404);
    expect(requests).toBe(2);

    requests = 0;
    const source = new EventSource('http://hub.test/chat', { fetch, reconnectionTimeMs: 1 });
    const closed = new Promise<void>((resolve) =>
      source.addEventListener('error', () => {
        if (source.readyState === EventSource.CLOSED) resolve();
      }),
    );
    await closed;
    await tick(30);
    expect([source.readyState, requests]).toEqual([EventSource.CLOSED, 2]);
    await other.close();
  });
});
