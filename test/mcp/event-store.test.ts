/**
 * ssekit/mcp with the MCP TypeScript SDK's own server and client over loopback, on the memory and
 * the Redis engine: a tool call whose SSE stream is cut mid-way resumes with `Last-Event-ID`
 * (the SDK client's own reconnection): every notification once, in order, the tool ran once.
 * A guessed or foreign `Last-Event-ID` gets nothing of another session.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  type EventStore,
  WebStandardStreamableHTTPServerTransport,
} from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { createHub, type Hub } from '../../src/hub/index.ts';
import { createRedisEngine } from '../../src/hub/redis.ts';
import { createMcpEventStore } from '../../src/mcp/index.ts';
import type { TestServer } from '../helpers/http-server.ts';
import { hubEngines } from '../helpers/hub-engines.ts';
import { startRedis } from '../helpers/redis.ts';
import { deferred, serveWeb } from '../helpers/server-stream.ts';

const engines = hubEngines('mcp');
const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

const COUNT = 8;
const GATE = 3;

interface App {
  server: TestServer;
  /** Tool runs so far. */
  readonly runs: number;
  atGate: Promise<void>;
  release(): void;
  sessions: Map<string, WebStandardStreamableHTTPServerTransport>;
}

/** An MCP server with one tool, `count`: COUNT logging notifications, pausing before GATE. */
async function serveMcp(hub: Hub): Promise<App> {
  const sessions = new Map<string, WebStandardStreamableHTTPServerTransport>();
  const atGate = deferred();
  const gate = deferred();
  let runs = 0;
  const newSession = async () => {
    const sessionId = crypto.randomUUID();
    const eventStore: EventStore = createMcpEventStore({ hub, scope: sessionId });
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => sessionId,
      eventStore,
      retryInterval: 10,
    });
    sessions.set(sessionId, transport);
    const mcp = new McpServer(
      { name: 'count', version: '1.0.0' },
      { capabilities: { logging: {} } },
    );
    mcp.registerTool('count', { description: 'Counts' }, async (extra) => {
      runs++;
      for (let index = 0; index < COUNT; index++) {
        if (index === GATE) {
          atGate.resolve();
          await gate.promise;
        }
        await extra.sendNotification({
          method: 'notifications/message',
          params: { level: 'info', data: `n${index}` },
        });
      }
      return { content: [{ type: 'text', text: `counted ${COUNT}` }] };
    });
    await mcp.connect(transport);
    cleanup.push(() => mcp.close());
    return transport;
  };
  const server = await serveWeb(async (request) => {
    const sessionId = request.headers.get('mcp-session-id');
    const transport = sessionId ? sessions.get(sessionId) : await newSession();
    if (!transport) return new Response('unknown session', { status: 404 });
    return transport.handleRequest(request);
  });
  cleanup.push(
    () => hub.close(),
    () => server.close(),
  );
  return {
    server,
    get runs() {
      return runs;
    },
    atGate: atGate.promise,
    release: gate.resolve,
    sessions,
  };
}

async function connect(url: string) {
  const client = new Client({ name: 'test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    reconnectionOptions: {
      initialReconnectionDelay: 10,
      maxReconnectionDelay: 50,
      reconnectionDelayGrowFactor: 1,
      maxRetries: 20,
    },
  });
  await client.connect(transport);
  cleanup.push(() => client.close());
  const notes: string[] = [];
  client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => {
    notes.push(String(notification.params.data));
  });
  return { client, transport, notes };
}

describe.each(Object.entries(engines))('MCP event store on %s', (_name, engine) => {
  test('a tool call cut mid-stream resumes with Last-Event-ID: every notification once, the tool ran once', async () => {
    const app = await serveMcp(createHub({ engine: engine() }));
    const { client, notes } = await connect(app.server.url);
    const tokens: string[] = [];
    const result = client.callTool({ name: 'count', arguments: {} }, undefined, {
      onresumptiontoken: (token) => tokens.push(token),
    });
    await app.atGate;
    await vi.waitFor(() => expect(notes).toHaveLength(GATE)); // the client read up to the gate
    const requestsBefore = app.server.requests;
    app.server.dropConnections();
    app.release();
    expect(await result).toEqual({ content: [{ type: 'text', text: `counted ${COUNT}` }] });
    expect(notes).toEqual(Array.from({ length: COUNT }, (_, index) => `n${index}`));
    expect(app.runs).toBe(1);
    expect(app.server.requests).toBeGreaterThan(requestsBefore); // it did reconnect
    expect(new Set(tokens).size).toBe(tokens.length);
    for (const token of tokens) expect(token).toMatch(/^[A-Za-z0-9_-]{22}\.\d+-\d+$/);
  });

  test('a guessed or foreign Last-Event-ID gets nothing of another session', async () => {
    const hub = createHub({ engine: engine() });
    const app = await serveMcp(hub);
    const first = await connect(app.server.url);
    const tokens: string[] = [];
    app.release();
    await first.client.callTool({ name: 'count', arguments: {} }, undefined, {
      onresumptiontoken: (token) => tokens.push(token),
    });
    expect(tokens.length).toBeGreaterThan(1);
    const second = await connect(app.server.url);
    const otherSession = second.transport.sessionId!;
    const replay = (lastEventId: string) =>
      fetch(app.server.url, {
        headers: {
          accept: 'text/event-stream',
          'mcp-session-id': otherSession,
          'mcp-protocol-version': '2025-11-25',
          'last-event-id': lastEventId,
        },
      });
    const foreign = await replay(tokens[0]!);
    expect(foreign.status).toBe(400);
    expect(await foreign.text()).not.toContain('n1');
    const guessed = await replay(tokens[0]!.replace(/^.{22}/, 'AAAAAAAAAAAAAAAAAAAAAA'));
    expect(guessed.status).toBe(400);
    const malformed = await replay('../../etc');
    expect(malformed.status).toBe(400);

    // The owning session's store replays exactly what followed the id, nothing of the other one.
    const own = createMcpEventStore({ hub, scope: first.transport.sessionId! });
    const sent: Array<[string, unknown]> = [];
    const streamId = await own.replayEventsAfter(tokens[0]!, {
      send: async (eventId, message) => {
        sent.push([eventId, message]);
      },
    });
    expect(streamId).toBe(await own.getStreamIdForEventId(tokens[0]!));
    expect(sent.map(([eventId]) => eventId)).toEqual(tokens.slice(1));
    expect(sent.at(-1)![1]).toMatchObject({ result: { content: [{ text: `counted ${COUNT}` }] } });
    const foreignStore = createMcpEventStore({ hub, scope: otherSession });
    expect(await foreignStore.getStreamIdForEventId(tokens[0]!)).toBeUndefined();
    await expect(
      foreignStore.replayEventsAfter(tokens[0]!, { send: async () => {} }),
    ).rejects.toThrow(TypeError);
  });
});

test('across instances on one Redis: a store on another hub replays the session after its id', async () => {
  const redis = await startRedis();
  cleanup.push(() => redis.stop());
  const prefix = `mcp-two:${Date.now()}:`;
  const hubOn = () =>
    createHub({ engine: createRedisEngine({ redis: redis.client(), prefix, blockMs: 200 }) });
  const a = createMcpEventStore({ hub: hubOn(), scope: 'session-1' });
  const b = createMcpEventStore({ hub: hubOn(), scope: 'session-1' });
  const ids: string[] = [];
  for (let index = 0; index < 300; index++) {
    ids.push(await a.storeEvent('stream-1', { jsonrpc: '2.0', method: 'note', params: { index } }));
  }
  await a.storeEvent('stream-2', { jsonrpc: '2.0', method: 'other' });
  const sent: unknown[] = [];
  expect(
    await b.replayEventsAfter(ids[9]!, { send: async (_id, message) => void sent.push(message) }),
  ).toBe('stream-1');
  expect(sent.map((message) => (message as { params: { index: number } }).params.index)).toEqual(
    Array.from({ length: 290 }, (_, index) => index + 10),
  );
  // b appends to the same stream: one log, continuing after a's events.
  const next = await b.storeEvent('stream-1', {
    jsonrpc: '2.0',
    method: 'note',
    params: { index: 300 },
  });
  expect(next.split('.')[0]).toBe(ids[0]!.split('.')[0]);
});
