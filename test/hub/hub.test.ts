import { afterEach, describe, expect, test } from 'vitest';
import { type FetchLike, fetchEventStream, type ServerSentEvent } from '../../src/client/index.ts';
import { createHub, type Hub, type HubEngine, type RunProducer } from '../../src/hub/index.ts';
import { ResponseError, ServerError, StreamError } from '../../src/index.ts';
import { hubEngines, windowFactor } from '../helpers/hub-engines.ts';
import { counting, readUntil } from './topic-fan-out.ts';

const engines: Record<string, () => HubEngine> = hubEngines('hub-test');

/** A `fetch` that calls a Web handler directly: real Requests and Response streams, no socket. */
function handlerFetch(handler: (request: Request) => Promise<Response>): FetchLike {
  return async (input, init) => handler(new Request(input, init));
}

async function collect(iterable: AsyncIterable<ServerSentEvent>): Promise<ServerSentEvent[]> {
  const events: ServerSentEvent[] = [];
  for await (const event of iterable) events.push(event);
  return events;
}

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A promise to resolve from outside, for a step the test waits for. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

describe.each(Object.keys(engines))('hub on the %s engine', (engineName) => {
  let hub: Hub;
  let engine: HubEngine;
  afterEach(async () => {
    await hub?.close();
    await engine?.close();
  });
  const makeHub = () => {
    engine = engines[engineName]!();
    hub = createHub({ engine, onError: () => {} });
    return hub;
  };

  test('a run streams its events with resumable ids, then done; the producer runs once', async () => {
    makeHub();
    let starts = 0;
    const fetch = handlerFetch((request) =>
      hub.stream(request, async (run) => {
        starts++;
        for (let index = 1; index <= 5; index++)
          await run.send({ event: 'token', data: `t${index}` });
        return { tokens: 5 };
      }),
    );
    const closes: unknown[] = [];
    const events = await collect(
      fetchEventStream('http://hub.test/chat', {
        fetch,
        json: {},
        onClose: (info) => closes.push(info),
      }),
    );
    expect(events.map((event) => event.data)).toEqual(['t1', 't2', 't3', 't4', 't5']);
    const runId = hub.runIdOf(events[0]!.id)!;
    expect(runId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(events.map((event) => event.id)).toEqual(
      [1, 2, 3, 4, 5].map((seq) => `${runId}.${seq}`),
    );
    expect(closes).toEqual([
      { reason: 'done', event: { type: 'done', data: '{"tokens":5}', id: `${runId}.6` } },
    ]);
    expect(starts).toBe(1);
  });

  test('Last-Event-ID attaches to the same run: exactly the rest, no restart, live included', async () => {
    makeHub();
    let starts = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const handler = (request: Request) =>
      hub.stream(request, async (run) => {
        starts++;
        for (let index = 1; index <= 10; index++) {
          if (index === 6) await gate; // the rest is produced while the resumed client listens
          await run.send({ data: `e${index}` });
        }
      });
    const fetch = handlerFetch(handler);
    const first: ServerSentEvent[] = [];
    for await (const event of fetchEventStream('http://hub.test/run', { fetch, method: 'POST' })) {
      first.push(event);
      if (first.length === 3) break;
    }
    const attached = deferred();
    const resumed = collect(
      fetchEventStream('http://hub.test/run', {
        fetch,
        method: 'POST',
        lastEventId: first[2]!.id,
        onOpen: attached.resolve,
      }),
    );
    await attached.promise; // the resumed response is open: what follows reaches it live
    release();
    const rest = await resumed;
    expect(first.map((event) => event.data)).toEqual(['e1', 'e2', 'e3']);
    expect(rest.map((event) => event.data)).toEqual(['e4', 'e5', 'e6', 'e7', 'e8', 'e9', 'e10']);
    expect(starts).toBe(1);
  });

  test('300 clients resuming one run at once share their replay reads, and each gets exactly the rest', async () => {
    engine = engines[engineName]!();
    const counted = counting(engine);
    hub = createHub({ engine: counted.engine, onError: () => {} });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let starts = 0;
    const producer: RunProducer = async (run) => {
      starts++;
      for (let index = 1; index <= 10; index++) {
        if (index === 6) await gate; // the rest comes while the resumed clients listen
        await run.send({ data: `e${index}` });
      }
    };
    const first = await hub.stream(
      new Request('http://hub.test/run', { method: 'POST' }),
      producer,
    );
    const text = await readUntil(first, 'data: e5\n');
    const ids = [...text.matchAll(/^id: (.*)$/gm)].map((match) => match[1]!);
    const rangesBefore = counted.ranges();
    const resumed = await Promise.all(
      Array.from({ length: 300 }, () =>
        hub.stream(
          new Request('http://hub.test/run', {
            method: 'POST',
            headers: { 'last-event-id': ids[1]! }, // after e2
          }),
          producer,
        ),
      ),
    );
    release();
    const expected = ['e3', 'e4', 'e5', 'e6', 'e7', 'e8', 'e9', 'e10'].map(
      (data) => `data: ${data}`,
    );
    for (const body of await Promise.all(
      resumed.map((response) => readUntil(response, 'event: done')),
    )) {
      expect(body.match(/^data: e.*$/gm)).toEqual(expected);
    }
    expect(starts).toBe(1);
    // One replay each before the reads were shared (300).
    expect(counted.ranges() - rangesBefore).toBeLessThanOrEqual(10);
  });

  test('a run that outlives four deadlines arrives complete and in order, resumed at each one', async () => {
    makeHub();
    // Each response ends 50 ms after it starts (its deadline) with a retry: hint, and the client
    // resumes with Last-Event-ID. The producer runs in rounds of 5 events: from the second round
    // on, it waits for the previous response's deadline, logs 3 events while the client is
    // between responses (the resume replays them) and 2 while it may be attached (live).
    const rounds = 5;
    const perRound = 5;
    const cut = Array.from({ length: rounds }, deferred); // response k met its deadline
    const logged = Array.from({ length: rounds }, deferred); // round k logged its first 3 events
    let starts = 0;
    const producer: RunProducer = async (run) => {
      starts++;
      let seq = 0;
      for (let round = 0; round < rounds; round++) {
        if (round > 0) await cut[round - 1]!.promise;
        for (let index = 1; index <= perRound; index++) {
          await run.send({ event: 'token', data: String(++seq) });
          if (index === 3) logged[round]!.resolve();
        }
      }
    };
    let responses = 0;
    const fetch: FetchLike = async (input, init) => {
      const round = responses++;
      if (round > 0 && round < rounds) await logged[round]!.promise; // the gap holds events
      return hub.stream(new Request(input, init), producer, {
        maxDurationMs: 50 * windowFactor(engineName) + 50,
        deadlineMarginMs: 50,
        retryMs: 0,
        retryJitterMs: 0,
      });
    };
    const retries: unknown[] = [];
    const closes: unknown[] = [];
    const events = await collect(
      fetchEventStream('http://hub.test/long', {
        fetch,
        json: { q: 1 },
        onRetry: ({ error }) => {
          retries.push(error);
          cut[retries.length - 1]?.resolve();
        },
        onClose: (info) => closes.push(info),
      }),
    );
    const total = rounds * perRound;
    const runId = hub.runIdOf(events[0]!.id)!;
    expect(events.map((event) => event.data)).toEqual(
      Array.from({ length: total }, (_, index) => String(index + 1)),
    );
    expect(events.map((event) => event.id)).toEqual(
      Array.from({ length: total }, (_, index) => `${runId}.${index + 1}`),
    );
    expect(closes).toEqual([
      { reason: 'done', event: { type: 'done', data: '{}', id: `${runId}.${total + 1}` } },
    ]);
    expect(starts).toBe(1); // resumed, never run again
    expect(responses).toBeGreaterThanOrEqual(rounds);
    // Every response but the last ended at its deadline: a planned resume, not a failure.
    expect(retries).toHaveLength(responses - 1);
    for (const error of retries) {
      expect([StreamError.isInstance(error), (error as StreamError).code]).toEqual([
        true,
        'ended-early',
      ]);
    }
  });

  test('cancel stops the producer (its signal aborts) and the stream ends with done {cancelled}', async () => {
    makeHub();
    let aborted: unknown;
    const fetch = handlerFetch((request) =>
      hub.stream(request, async (run) => {
        run.signal.addEventListener('abort', () => (aborted = run.signal.reason));
        for (let index = 1; ; index++) {
          await run.send({ data: String(index) });
          await tick(10);
          run.signal.throwIfAborted();
        }
      }),
    );
    const closes: Array<{ event?: ServerSentEvent }> = [];
    const stream = fetchEventStream('http://hub.test/c', {
      fetch,
      method: 'POST',
      onClose: (info) => closes.push(info),
    });
    const events: ServerSentEvent[] = [];
    for await (const event of stream) {
      events.push(event);
      if (events.length === 3) {
        const response = await hub.handleCancel(
          new Request(`http://hub.test/cancel?runId=${hub.runIdOf(event.id)}`, { method: 'POST' }),
        );
        expect(response.status).toBe(202);
      }
    }
    expect(aborted).toBeInstanceOf(Error);
    const runId = hub.runIdOf(events[0]!.id)!;
    expect(await hub.cancel(runId)).toBe(false); // finished now: nothing to cancel
    const again = await hub.handleCancel(
      new Request(`http://hub.test/cancel?runId=${runId}`, { method: 'DELETE' }),
    );
    expect([again.status, await again.json()]).toEqual([
      409,
      { error: { code: 'run-finished', message: 'The run already finished.' } },
    ]);
    expect(closes[0]?.event?.type).toBe('done');
    expect(JSON.parse(closes[0]!.event!.data)).toEqual({ cancelled: true });
  });

  test('a run past maxRunEvents fails with run-too-long, and still ends with its error event', async () => {
    engine = engines[engineName]!();
    hub = createHub({ engine, maxRunEvents: 3, onError: () => {} });
    const fetch = handlerFetch((request) =>
      hub.stream(request, async (run) => {
        for (let index = 1; index <= 5; index++) await run.send({ data: String(index) });
      }),
    );
    const events: ServerSentEvent[] = [];
    const error = await (async () => {
      for await (const event of fetchEventStream('http://hub.test/long', { fetch, method: 'POST' }))
        events.push(event);
    })().catch((e) => e);
    expect(events.map((event) => event.data)).toEqual(['1', '2', '3']);
    const runId = hub.runIdOf(events[0]!.id)!;
    expect(ServerError.isInstance(error)).toBe(true);
    expect(error.data).toEqual({
      message: 'A run may log at most 3 events.',
      code: 'run-too-long',
    });
    expect(error.id).toBe(`${runId}.4`); // the terminal event follows the last one: no gap
  });

  test('an unknown or expired run is a 404 run-expired, a malformed id a 400: the client stops, no retry', async () => {
    makeHub();
    let requests = 0;
    const fetch = handlerFetch((request) => {
      requests++;
      return hub.stream(request, async () => {});
    });
    for (const [lastEventId, status, code] of [
      ['AAAAAAAAAAAAAAAAAAAAAA.4', 404, 'run-expired'],
      ['not-a-run-id', 400, 'bad-request'],
      ['AAAAAAAAAAAAAAAAAAAAAA.4:log', 400, 'bad-request'],
    ] as const) {
      requests = 0;
      const error = await fetchEventStream('http://hub.test/x', {
        fetch,
        method: 'POST',
        lastEventId,
      }).finished.catch((e) => e);
      expect(ResponseError.isInstance(error)).toBe(true);
      expect([error.status, JSON.parse(error.body).error.code]).toEqual([status, code]);
      expect(requests).toBe(1); // a 4xx is final: no retry, no new run
    }
    expect(await hub.cancel('AAAAAAAAAAAAAAAAAAAAAA')).toBe(false);
    expect(await hub.cancel('AAAAAAAAAAAAAAAAAAAAAA:log')).toBe(false);
    const missing = await hub.handleCancel(
      new Request('http://hub.test/cancel', {
        method: 'DELETE',
        body: '{"runId":"AAAAAAAAAAAAAAAAAAAAAA"}',
        headers: { 'content-type': 'application/json' },
      }),
    );
    expect([missing.status, await missing.json()]).toEqual([
      404,
      { error: { code: 'run-expired', message: 'No such run, or it expired.' } },
    ]);
    const malformed = await hub.handleCancel(
      new Request('http://hub.test/cancel', {
        method: 'DELETE',
        body: '{"runId":"nope"}',
        headers: { 'content-type': 'application/json' },
      }),
    );
    expect([malformed.status, (await malformed.json()).error.code]).toEqual([400, 'bad-request']);
    const get = await hub.handleCancel(new Request('http://hub.test/cancel'));
    expect([get.status, get.headers.get('allow')]).toEqual([405, 'POST, DELETE']);
  });

  test('a producer error is logged in full and streamed as a safe error event', async () => {
    engine = engines[engineName]!();
    const errors: unknown[] = [];
    hub = createHub({ engine, onError: (error) => errors.push(error) });
    const fetch = handlerFetch((request) =>
      hub.stream(request, async (run) => {
        await run.send({ data: 'before' });
        throw new Error('db password is hunter2');
      }),
    );
    const events: ServerSentEvent[] = [];
    const error = await (async () => {
      for await (const event of fetchEventStream('http://hub.test/e', { fetch, method: 'POST' }))
        events.push(event);
    })().catch((e) => e);
    expect(events.map((event) => event.data)).toEqual(['before']);
    expect(error.data).toEqual({ message: 'Internal server error' });
    expect(String((errors[0] as Error).message)).toContain('hunter2');
  });

  test('topics: live events, per-subscription filters, replay after Last-Event-ID', async () => {
    makeHub();
    const fetch = handlerFetch((request) =>
      hub.subscribe(request, 'logs', {
        filter: (event) =>
          new URL(request.url).searchParams.get('level') !== 'warn' || event.event === 'warn',
      }),
    );
    const all: ServerSentEvent[] = [];
    const errorsOnly: ServerSentEvent[] = [];
    const opened = [deferred(), deferred()];
    const allStream = fetchEventStream('http://hub.test/logs', {
      fetch,
      onEvent: (event) => all.push(event),
      onOpen: opened[0]!.resolve,
    });
    const errorStream = fetchEventStream('http://hub.test/logs?level=warn', {
      fetch,
      onEvent: (event) => errorsOnly.push(event),
      onOpen: opened[1]!.resolve,
    });
    // Subscribed (hub.subscribe resolved): every event published from now on reaches them.
    await Promise.all(opened.map((open) => open.promise));
    for (let index = 1; index <= 6; index++)
      await hub.publish('logs', {
        event: index % 3 === 0 ? 'warn' : 'info',
        data: `line ${index}`,
      });
    await waitFor(
      () => all.length === 6 && errorsOnly.length === 2,
      () => `${all.length} ${errorsOnly.length}`,
    );
    expect(all.map((event) => event.data)).toEqual(
      [1, 2, 3, 4, 5, 6].map((index) => `line ${index}`),
    );
    expect(errorsOnly.map((event) => event.data)).toEqual(['line 3', 'line 6']);
    allStream.close();
    errorStream.close();

    const replayed: ServerSentEvent[] = [];
    const again = fetchEventStream('http://hub.test/logs', {
      fetch,
      lastEventId: all[3]!.id,
      onEvent: (event) => replayed.push(event),
    });
    await waitFor(() => replayed.length === 2);
    await hub.publish('logs', { data: 'line 7' });
    await waitFor(() => replayed.length === 3);
    expect(replayed.map((event) => event.data)).toEqual(['line 5', 'line 6', 'line 7']);
    again.close();
  });

  test('topics: an id older than the retained history gets history-lost, then what is left', async () => {
    engine = engines[engineName]!();
    hub = createHub({ engine, retention: { maxEvents: 5 } });
    const ids: string[] = [];
    for (let index = 1; index <= 400; index++)
      ids.push(await hub.publish('metrics', { data: String(index) }));
    const fetch = handlerFetch((request) => hub.subscribe(request, 'metrics'));
    const received: ServerSentEvent[] = [];
    const stream = fetchEventStream('http://hub.test/m', {
      fetch,
      lastEventId: ids[0]!,
      onEvent: (event) => received.push(event),
    });
    await waitFor(() => received.length > 0 && received.at(-1)?.data === '400');
    stream.close();
    expect(received[0]!.type).toBe('history-lost');
    const lost = JSON.parse(received[0]!.data);
    expect(lost.requested).toBe(ids[0]);
    expect(ids).toContain(lost.from);
    expect(received.slice(1).map((event) => Number(event.data))).toEqual(
      Array.from(
        { length: received.length - 1 },
        (_, index) => 401 - (received.length - 1) + index,
      ),
    );
  });
});

async function waitFor(check: () => boolean, describe?: () => string): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > 10_000)
      throw new Error(`condition not reached within 10 s ${describe?.() ?? ''}`);
    await tick(5);
  }
}
