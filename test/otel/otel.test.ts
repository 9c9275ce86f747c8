/**
 * ssekit/otel with the real OpenTelemetry SDK (in-memory span exporter, a metric reader collected
 * on demand): the exact spans, attributes, links and metric values of a completed stream, a cut
 * and resumed hub run (across two hub instances on one Redis), and a cancelled run. Every stream
 * runs over real sockets through the Node adapter, the client through `fetchEventStream`.
 */
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { fetchEventStream } from '../../src/client/index.ts';
import { createHub, type Hub } from '../../src/hub/index.ts';
import { createRedisEngine } from '../../src/hub/redis.ts';
import { encodeEvent } from '../../src/index.ts';
import { ATTRIBUTES, METRICS } from '../../src/otel/index.ts';
import { createEventStream } from '../../src/server/index.ts';
import type { TestServer } from '../helpers/http-server.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { deferred, serveWeb } from '../helpers/server-stream.ts';
import { idOf, only, parentOf, testTelemetry, withContextManager } from './setup.ts';

withContextManager();

const servers: TestServer[] = [];
const hubs: Hub[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
  await Promise.all(hubs.splice(0).map((hub) => hub.close()));
});

async function serve(handler: (request: Request) => Response | Promise<Response>) {
  const server = await serveWeb(handler);
  servers.push(server);
  return server;
}

const utf8 = (text: string) => new TextEncoder().encode(text).byteLength;
const ANY_SECONDS = expect.any(Number);

describe('a completed stream', () => {
  test('client and server spans in one trace, exact attributes, the producer under the server span, metrics', async () => {
    const { telemetry, exporter, metrics, tracerProvider } = testTelemetry(() => '/chat');
    const server = await serve((request) =>
      createEventStream(
        request,
        async (stream) => {
          // The producer runs in the stream span's context: its own spans are children of it.
          tracerProvider.getTracer('app').startActiveSpan('model call', (span) => span.end());
          await stream.send({ event: 'token', id: '1', data: 'Hel' });
          await stream.comment('not an event');
          await stream.send({ event: 'token', id: '2', data: 'lo' });
          return { tokens: 2 };
        },
        { observe: telemetry.server, heartbeatMs: 0 },
      ),
    );
    const tracedFetchEventStream = telemetry.client(fetchEventStream);
    const received: string[] = [];
    for await (const event of tracedFetchEventStream(`${server.url}/chat?x=1`, {
      json: { prompt: 'Hi' },
      headers: { 'user-agent': 'ssekit-test' },
    })) {
      received.push(event.data);
    }
    expect(received).toEqual(['Hel', 'lo']);
    const wire =
      encodeEvent({ event: 'token', id: '1', data: 'Hel' }) +
      encodeEvent({ comment: 'not an event' }) +
      encodeEvent({ event: 'token', id: '2', data: 'lo' }) +
      encodeEvent({ event: 'done', data: '{"tokens":2}' });

    await vi.waitFor(() => expect(exporter.getFinishedSpans()).toHaveLength(3));
    const spans = exporter.getFinishedSpans();
    const client = only(spans, (span) => span.kind === SpanKind.CLIENT);
    const serverSpan = only(spans, (span) => span.kind === SpanKind.SERVER);
    const model = only(spans, (span) => span.name === 'model call');

    expect(client.name).toBe('POST');
    expect(client.attributes).toEqual({
      'http.request.method': 'POST',
      'url.full': `${server.url}/chat?x=1`,
      'server.address': '127.0.0.1',
      'server.port': server.port,
      'http.response.status_code': 200,
      [ATTRIBUTES.timeToFirstEvent]: ANY_SECONDS,
      [ATTRIBUTES.events]: 2, // ssekit's `done` ends the stream without reaching the application
      [ATTRIBUTES.attempts]: 1,
      [ATTRIBUTES.resumes]: 0,
      [ATTRIBUTES.endReason]: 'done',
    });
    expect(client.events.map((event) => event.name)).toEqual(['ssekit.first_event']);
    expect(client.status.code).toBe(SpanStatusCode.UNSET);
    expect(parentOf(client)).toBeUndefined();

    expect(serverSpan.name).toBe('POST /chat');
    expect(serverSpan.attributes).toEqual({
      'http.request.method': 'POST',
      'http.route': '/chat',
      'http.response.status_code': 200,
      'url.path': '/chat',
      'url.scheme': 'http',
      'server.address': '127.0.0.1',
      'server.port': server.port,
      'user_agent.original': 'ssekit-test',
      [ATTRIBUTES.streamKind]: 'stream',
      [ATTRIBUTES.resumed]: false,
      [ATTRIBUTES.timeToFirstEvent]: ANY_SECONDS,
      [ATTRIBUTES.events]: 3, // two tokens and done; the comment is not an event
      [ATTRIBUTES.bytes]: utf8(wire),
      [ATTRIBUTES.endReason]: 'completed',
    });
    expect(serverSpan.events.map((event) => event.name)).toEqual(['ssekit.first_event']);
    expect(serverSpan.links).toEqual([]);
    expect(serverSpan.status.code).toBe(SpanStatusCode.UNSET);
    // The traceparent the client injected made the server span the client span's child.
    expect(parentOf(serverSpan)).toBe(idOf(client));
    expect(parentOf(model)).toBe(idOf(serverSpan));

    const found = await metrics();
    const server200 = {
      'http.request.method': 'POST',
      'http.route': '/chat',
      'ssekit.stream.kind': 'stream',
    };
    expect(found(METRICS.activeStreams)).toEqual([{ attributes: server200, value: 0 }]);
    expect(found(METRICS.serverEvents)).toEqual([{ attributes: server200, value: 3 }]);
    expect(found(METRICS.serverBytes)).toEqual([{ attributes: server200, value: utf8(wire) }]);
    expect(found(METRICS.serverTimeToFirstEvent)).toEqual([{ attributes: server200, value: 1 }]);
    expect(found(METRICS.serverResumes)).toEqual([]);
    expect(found(METRICS.slowConsumerDrops)).toEqual([]);
    const post = { 'http.request.method': 'POST' };
    expect(found(METRICS.clientEvents)).toEqual([{ attributes: post, value: 2 }]);
    expect(found(METRICS.clientTimeToFirstEvent)).toEqual([{ attributes: post, value: 1 }]);
    expect(found(METRICS.clientResumes)).toEqual([]);
  });

  test('a producer error: status ERROR, error.type, the exception; a client that leaves: client-left', async () => {
    const { telemetry, exporter } = testTelemetry();
    const left = deferred();
    const server = await serve((request) => {
      const failing = new URL(request.url).pathname === '/fail';
      return createEventStream(
        request,
        async (stream) => {
          await stream.send({ data: 'one' });
          if (failing)
            throw Object.assign(new Error('model overloaded'), {
              code: 'overloaded',
              expose: true,
            });
          await new Promise((resolve) => stream.signal.addEventListener('abort', resolve));
          left.resolve();
        },
        { observe: telemetry.server, heartbeatMs: 0, onError: () => {} },
      );
    });
    const failed = telemetry.client(fetchEventStream)(`${server.url}/fail`, { retry: false });
    await expect(failed.finished).rejects.toMatchObject({ message: 'model overloaded' });
    const leaving = telemetry.client(fetchEventStream)(`${server.url}/leave`);
    for await (const _event of leaving) break;
    await left.promise;

    await vi.waitFor(() => expect(exporter.getFinishedSpans()).toHaveLength(4));
    const spans = exporter.getFinishedSpans();
    const serverFail = only(spans, (span) => span.attributes['url.path'] === '/fail');
    expect(serverFail.attributes[ATTRIBUTES.endReason]).toBe('error');
    expect(serverFail.attributes['error.type']).toBe('overloaded');
    expect(serverFail.status).toEqual({ code: SpanStatusCode.ERROR, message: 'model overloaded' });
    expect(serverFail.events.map((event) => event.name)).toEqual([
      'ssekit.first_event',
      'exception',
    ]);
    const clientFail = only(
      spans,
      (span) =>
        span.kind === SpanKind.CLIENT && String(span.attributes['url.full']).endsWith('/fail'),
    );
    expect(clientFail.attributes[ATTRIBUTES.endReason]).toBe('error');
    expect(clientFail.status.code).toBe(SpanStatusCode.ERROR);

    const serverLeave = only(spans, (span) => span.attributes['url.path'] === '/leave');
    expect(serverLeave.attributes[ATTRIBUTES.endReason]).toBe('client-left');
    expect(serverLeave.attributes[ATTRIBUTES.events]).toBe(1);
    expect(serverLeave.status.code).toBe(SpanStatusCode.UNSET);
    const clientLeave = only(
      spans,
      (span) =>
        span.kind === SpanKind.CLIENT && String(span.attributes['url.full']).endsWith('/leave'),
    );
    expect(clientLeave.attributes[ATTRIBUTES.endReason]).toBe('closed');
    expect(clientLeave.attributes[ATTRIBUTES.events]).toBe(1);
  });
});

/** A span link as `traceId/spanId` with its attributes. */
const linksOf = (span: ReadableSpan) =>
  span.links.map((link) => ({
    to: `${link.context.traceId}/${link.context.spanId}`,
    attributes: link.attributes,
  }));

describe('hub runs', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(() => redis.stop());

  test('a run cut at its deadline and resumed on another instance (one Redis): client, server and run spans, links to the run', async () => {
    const { telemetry, exporter, metrics } = testTelemetry();
    const prefix = `otel:${Date.now()}:`;
    const engine = () => createRedisEngine({ redis: redis.client(), prefix, blockMs: 200 });
    const instances = [
      createHub({ engine: engine(), observe: telemetry.hub }),
      createHub({ engine: engine(), observe: telemetry.hub }),
    ];
    hubs.push(...instances);
    const resumed = deferred();
    let requests = 0;
    const server = await serve((request) => {
      const hub = instances[Math.min(requests++, 1)]!; // the first request on A, resumes on B
      if (requests === 2) resumed.resolve();
      return hub.stream(
        request,
        async (run) => {
          await run.send({ event: 'token', data: 'a' });
          await resumed.promise;
          await run.send({ event: 'token', data: 'b' });
          return { tokens: 2 };
        },
        { maxDurationMs: 400, deadlineMarginMs: 200, retryMs: 0, retryJitterMs: 0, heartbeatMs: 0 },
      );
    });
    const received: string[] = [];
    const ids: string[] = [];
    for await (const event of telemetry.client(fetchEventStream)(`${server.url}/runs`, {
      json: { prompt: 'Hi' },
    })) {
      received.push(event.data);
      ids.push(event.id);
    }
    expect(received).toEqual(['a', 'b']);
    const runId = instances[0]!.runIdOf(ids[0]!)!;
    expect(ids).toEqual([`${runId}.1`, `${runId}.2`]);

    await vi.waitFor(() => expect(exporter.getFinishedSpans()).toHaveLength(4));
    const spans = exporter.getFinishedSpans();
    const client = only(spans, (span) => span.kind === SpanKind.CLIENT);
    const run = only(spans, (span) => span.kind === SpanKind.PRODUCER);
    const first = only(spans, (span) => span.attributes[ATTRIBUTES.resumed] === false);
    const second = only(spans, (span) => span.attributes[ATTRIBUTES.resumed] === true);

    expect(run.name).toBe('ssekit.run');
    expect(run.attributes).toEqual({
      [ATTRIBUTES.runId]: runId,
      [ATTRIBUTES.runEvents]: 2,
      [ATTRIBUTES.runEndReason]: 'completed',
    });
    // The run started under the client's request: one trace from the click to the last token.
    expect(parentOf(run)).toBe(idOf(client));
    const toRun = [{ to: idOf(run), attributes: { [ATTRIBUTES.runId]: runId } }];

    const common = {
      'http.request.method': 'POST',
      'http.response.status_code': 200,
      'url.path': '/runs',
      'url.scheme': 'http',
      'server.address': '127.0.0.1',
      'server.port': server.port,
      'user_agent.original': 'node',
      [ATTRIBUTES.streamKind]: 'run',
      [ATTRIBUTES.runId]: runId,
      [ATTRIBUTES.timeToFirstEvent]: ANY_SECONDS,
    };
    expect(first.attributes).toEqual({
      ...common,
      [ATTRIBUTES.resumed]: false,
      [ATTRIBUTES.events]: 1,
      [ATTRIBUTES.bytes]: utf8(
        encodeEvent({ event: 'token', id: `${runId}.1`, data: 'a' }) + encodeEvent({ retry: 0 }),
      ),
      [ATTRIBUTES.endReason]: 'deadline',
    });
    expect(linksOf(first)).toEqual(toRun);
    // Instance B never saw the run start: the link comes from the traceparent kept in Redis.
    expect(second.attributes).toEqual({
      ...common,
      [ATTRIBUTES.resumed]: true,
      [ATTRIBUTES.lastEventId]: `${runId}.1`,
      [ATTRIBUTES.events]: 2,
      [ATTRIBUTES.bytes]: utf8(
        encodeEvent({ event: 'token', id: `${runId}.2`, data: 'b' }) +
          encodeEvent({ event: 'done', id: `${runId}.3`, data: '{"tokens":2}' }),
      ),
      [ATTRIBUTES.endReason]: 'completed',
    });
    expect(linksOf(second)).toEqual(toRun);
    expect(parentOf(first)).toBe(idOf(client));
    expect(parentOf(second)).toBe(idOf(client));

    expect(client.attributes).toMatchObject({
      [ATTRIBUTES.events]: 2,
      [ATTRIBUTES.attempts]: 2,
      [ATTRIBUTES.resumes]: 1,
      [ATTRIBUTES.endReason]: 'done',
    });
    expect(client.events.map((event) => [event.name, event.attributes ?? {}])).toEqual([
      ['ssekit.first_event', {}],
      ['ssekit.resume', { [ATTRIBUTES.attempt]: 2, [ATTRIBUTES.lastEventId]: `${runId}.1` }],
    ]);

    const found = await metrics();
    const runStream = { 'http.request.method': 'POST', [ATTRIBUTES.streamKind]: 'run' };
    expect(found(METRICS.serverResumes)).toEqual([{ attributes: runStream, value: 1 }]);
    expect(found(METRICS.activeStreams)).toEqual([{ attributes: runStream, value: 0 }]);
    expect(found(METRICS.serverEvents)).toEqual([{ attributes: runStream, value: 3 }]);
    expect(found(METRICS.activeRuns)).toEqual([
      { attributes: { 'http.request.method': 'POST' }, value: 0 },
    ]);
    expect(found(METRICS.clientResumes)).toEqual([
      { attributes: { 'http.request.method': 'POST' }, value: 1 },
    ]);
  });

  test('a cancelled run: the run and its response end as cancelled, the client as done', async () => {
    const { telemetry, exporter, metrics } = testTelemetry();
    const hub = createHub({ observe: telemetry.hub });
    hubs.push(hub);
    const server = await serve((request) =>
      hub.stream(
        request,
        async (run) => {
          await run.send({ event: 'token', data: 'a' });
          await new Promise((resolve) => run.signal.addEventListener('abort', resolve));
          throw run.signal.reason;
        },
        { heartbeatMs: 0 },
      ),
    );
    const received: string[] = [];
    const stream = telemetry.client(fetchEventStream)(`${server.url}/runs`, { json: {} });
    for await (const event of stream) {
      received.push(event.data);
      expect(await hub.cancel(hub.runIdOf(event.id)!)).toBe(true);
    }
    expect(received).toEqual(['a']);

    await vi.waitFor(() => expect(exporter.getFinishedSpans()).toHaveLength(3));
    const spans = exporter.getFinishedSpans();
    const run = only(spans, (span) => span.kind === SpanKind.PRODUCER);
    const response = only(spans, (span) => span.kind === SpanKind.SERVER);
    const client = only(spans, (span) => span.kind === SpanKind.CLIENT);
    expect(run.attributes).toMatchObject({
      [ATTRIBUTES.runEvents]: 1,
      [ATTRIBUTES.runEndReason]: 'cancelled',
    });
    expect(run.status.code).toBe(SpanStatusCode.UNSET); // cancelling is not an error
    expect(response.attributes).toMatchObject({
      [ATTRIBUTES.events]: 2, // a, then done {"cancelled":true}
      [ATTRIBUTES.endReason]: 'cancelled',
    });
    expect(response.status.code).toBe(SpanStatusCode.UNSET);
    expect(linksOf(response)).toEqual([
      { to: idOf(run), attributes: { [ATTRIBUTES.runId]: run.attributes[ATTRIBUTES.runId] } },
    ]);
    expect(client.attributes).toMatchObject({
      [ATTRIBUTES.events]: 1,
      [ATTRIBUTES.attempts]: 1,
      [ATTRIBUTES.endReason]: 'done',
    });
    const found = await metrics();
    expect(found(METRICS.activeRuns)).toEqual([
      { attributes: { 'http.request.method': 'POST' }, value: 0 },
    ]);
  });

  test("a client's stop(): the cancel request carries the trace but is not an attempt; the run ends cancelled", async () => {
    const { telemetry, exporter } = testTelemetry();
    const hub = createHub({ observe: telemetry.hub });
    hubs.push(hub);
    const cancelTraceparents: Array<string | null> = [];
    const server = await serve((request) => {
      if (request.headers.has('ssekit-cancel')) {
        cancelTraceparents.push(request.headers.get('traceparent'));
      }
      return hub.stream(request, async (run) => {
        await run.send({ event: 'token', data: 'a' });
        await new Promise((resolve) => run.signal.addEventListener('abort', resolve));
      });
    });
    const stream = telemetry.client(fetchEventStream)(`${server.url}/runs`, { json: {} });
    for await (const _event of stream) {
      expect(await stream.stop()).toMatchObject({ outcome: 'cancelled' });
    }
    await vi.waitFor(() =>
      expect(exporter.getFinishedSpans().map((span) => span.kind)).toEqual(
        expect.arrayContaining([SpanKind.CLIENT, SpanKind.PRODUCER, SpanKind.SERVER]),
      ),
    );
    const spans = exporter.getFinishedSpans();
    const client = only(spans, (span) => span.kind === SpanKind.CLIENT);
    const run = only(spans, (span) => span.kind === SpanKind.PRODUCER);
    expect(client.attributes).toMatchObject({
      [ATTRIBUTES.attempts]: 1,
      [ATTRIBUTES.endReason]: 'stopped',
    });
    expect(run.attributes[ATTRIBUTES.runEndReason]).toBe('cancelled');
    const { traceId, spanId } = client.spanContext();
    expect(cancelTraceparents).toEqual([`00-${traceId}-${spanId}-01`]);
  });
});
