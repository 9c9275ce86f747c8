/**
 * An `EventStore` for the MCP TypeScript SDK's Streamable HTTP server transport, on a hub's engine
 * (memory, or Redis for every instance): the SSE streams of an MCP server resume after a cut with
 * `Last-Event-ID`, from any instance that shares the engine.
 *
 * Each (scope, stream) pair gets a log with a random 128-bit id; an event id is `<log>.<entry>`
 * (`Jx4…Qw.1733150000000-3`), so it cannot be guessed, and it names its log. A replay reads only
 * that log, and only when the log belongs to the store's scope (the MCP session): a guessed or
 * foreign `Last-Event-ID` gets nothing of another session, and the SDK answers it with a 400.
 */
import type { HubEngine } from '../hub/engine.ts';
import type { Hub } from '../hub/hub.ts';

/** Options of {@link createMcpEventStore}. */
export interface McpEventStoreOptions {
  /** The hub whose engine keeps the events (or pass `engine`). */
  hub?: Hub | undefined;
  /** The engine that keeps the events, when there is no hub. */
  engine?: HubEngine | undefined;
  /**
   * Who may replay: the MCP session id (a string, or a function read at each call, e.g.
   * `() => transport.sessionId`). Events are stored and replayed within their scope only; the
   * SDK's own stream ids (`_GET_stream`) repeat across sessions, so one store per session with
   * its session id keeps each session's streams apart.
   * @default '' (one scope for everything the store keeps: a store per session is then required)
   */
  scope?: string | (() => string | undefined) | undefined;
  /**
   * How long a stream's events are kept after its last one (and how long it can be resumed).
   * @default 3_600_000 (1 hour)
   */
  ttlMs?: number | undefined;
  /**
   * The most events kept per stream (older ones are trimmed; a resume from a trimmed id replays
   * what is left).
   * @default 10_000
   */
  maxEventsPerStream?: number | undefined;
}

/** The `EventStore` of `@modelcontextprotocol/sdk` (`server/streamableHttp.js`), by its shape. */
export interface McpEventStore {
  /** Stores one message of a stream; resolves with its event id. */
  storeEvent(streamId: string, message: object): Promise<string>;
  /** The stream an event id belongs to, when it is one of this scope's; else undefined. */
  getStreamIdForEventId(eventId: string): Promise<string | undefined>;
  /**
   * Sends every message of the event's stream after it, in order; resolves with the stream id.
   * Rejects for an event id that is not one of this scope's.
   */
  replayEventsAfter(
    lastEventId: string,
    // biome-ignore lint/suspicious/noExplicitAny: the SDK's JSONRPCMessage, which ssekit does not import.
    options: { send: (eventId: string, message: any) => Promise<void> },
  ): Promise<string>;
}

const EVENT_ID = /^([A-Za-z0-9_-]{22})\.(\d{1,16}-\d{1,16})$/;
const BATCH = 256;

const streamKey = (scope: string, streamId: string): string =>
  `mcp:stream:${scope.length}:${scope}:${streamId}`;
const metaKey = (log: string): string => `mcp:meta:${log}`;
const logKey = (log: string): string => `mcp:log:${log}`;

/**
 * Creates an MCP `EventStore` on a hub's engine.
 *
 * @example
 * ```ts
 * import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
 * import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
 * import { createHub } from 'ssekit/hub';
 * import { createMcpEventStore } from 'ssekit/mcp';
 *
 * const hub = createHub();
 * const sessionId = crypto.randomUUID();
 * const transport = new WebStandardStreamableHTTPServerTransport({
 *   sessionIdGenerator: () => sessionId,
 *   eventStore: createMcpEventStore({ hub, scope: sessionId }),
 * });
 * await new McpServer({ name: 'tools', version: '1.0.0' }).connect(transport);
 * export const POST = (request: Request) => transport.handleRequest(request);
 * ```
 */
export function createMcpEventStore(options: McpEventStoreOptions): McpEventStore {
  const { hub, scope = '', ttlMs = 3_600_000, maxEventsPerStream = 10_000 } = options ?? {};
  const engine = options?.engine ?? hub?.engine;
  if (typeof engine?.append !== 'function') {
    throw new TypeError(
      'createMcpEventStore: pass { hub } (from createHub of ssekit/hub) or { engine }.',
    );
  }
  if (!(Number.isSafeInteger(ttlMs) && ttlMs > 0 && ttlMs < 2 ** 31)) {
    throw new TypeError(
      `createMcpEventStore: ttlMs must be a whole number of milliseconds from 1 to 2^31 - 1, got ${ttlMs}.`,
    );
  }
  if (!(Number.isSafeInteger(maxEventsPerStream) && maxEventsPerStream > 0)) {
    throw new TypeError(
      `createMcpEventStore: maxEventsPerStream must be a positive whole number, got ${maxEventsPerStream}.`,
    );
  }
  const scopeNow = (): string => (typeof scope === 'function' ? (scope() ?? '') : scope);
  // This instance's logs by stream key; other instances find them in the engine.
  const logs = new Map<string, Promise<string>>();
  const renewed = new Map<string, number>();
  // The appends in flight per log, on this instance (see replayEventsAfter).
  const storing = new Map<string, Set<Promise<unknown>>>();
  // How many stores per stream have settled on this instance, ever (see replayEventsAfter).
  const settledStores = new Map<string, number>();

  function logOf(streamId: string): Promise<string> {
    const currentScope = scopeNow();
    const key = streamKey(currentScope, streamId);
    let log = logs.get(key);
    if (!log) {
      log = (async () => {
        const known = await engine!.getValue(key);
        if (known) return known;
        const created = randomId();
        await engine!.setValue(
          metaKey(created),
          JSON.stringify({ scope: currentScope, streamId }),
          ttlMs,
        );
        await engine!.setValue(key, created, ttlMs);
        return created;
      })();
      log.catch(() => logs.delete(key));
      logs.set(key, log);
    }
    return log;
  }

  async function store(key: string, streamId: string, message: object): Promise<string> {
    const log = await logOf(streamId);
    const entry = await engine!.append(
      logKey(log),
      { data: JSON.stringify(message) },
      { maxLen: maxEventsPerStream, ttlMs },
    );
    // The stream's names live as long as its events: renewed with them, at most twice per TTL.
    const now = Date.now();
    if (now - (renewed.get(key) ?? 0) > ttlMs / 2) {
      renewed.set(key, now);
      await Promise.all([
        engine!.setValue(metaKey(log), JSON.stringify({ scope: scopeNow(), streamId }), ttlMs),
        engine!.setValue(key, log, ttlMs),
      ]);
    }
    return `${log}.${entry}`;
  }

  /** The log and stream of an event id of this scope, or undefined. */
  async function owner(
    eventId: string,
  ): Promise<{ log: string; entry: string; streamId: string } | undefined> {
    const match = typeof eventId === 'string' ? EVENT_ID.exec(eventId) : null;
    if (!match) return undefined;
    const log = match[1]!;
    const meta = await engine!.getValue(metaKey(log));
    if (!meta) return undefined;
    const { scope: owning, streamId } = JSON.parse(meta) as { scope: string; streamId: string };
    return owning === scopeNow() ? { log, entry: match[2]!, streamId } : undefined;
  }

  return {
    storeEvent(streamId, message) {
      if (typeof streamId !== 'string' || streamId === '') {
        throw new TypeError(
          `storeEvent: the stream id must be a non-empty string, got ${String(streamId)}.`,
        );
      }
      const key = streamKey(scopeNow(), streamId);
      const stored = store(key, streamId, message);
      // Tracked from the start (see replayEventsAfter).
      const pending = storing.get(key) ?? new Set<Promise<unknown>>();
      storing.set(key, pending);
      const settled = stored.catch(() => {});
      pending.add(settled);
      void settled.then(() => {
        settledStores.set(key, (settledStores.get(key) ?? 0) + 1);
        pending.delete(settled);
        if (pending.size === 0 && storing.get(key) === pending) storing.delete(key);
      });
      return stored;
    },

    async getStreamIdForEventId(eventId) {
      return (await owner(eventId))?.streamId;
    },

    async replayEventsAfter(lastEventId, { send }) {
      const found = await owner(lastEventId);
      if (!found) {
        throw new TypeError(
          `replayEventsAfter: ${JSON.stringify(String(lastEventId).slice(0, 80))} is not an event id of this session.`,
        );
      }
      const key = streamKey(scopeNow(), found.streamId);
      let after = found.entry;
      for (;;) {
        // The seam: the SDK registers the resumed stream only when this returns, so a message
        // stored meanwhile would reach neither the replay nor the live stream. Every store of
        // this instance on this stream that settles after this count is read again below.
        const settledBefore = settledStores.get(key) ?? 0;
        const entries = await engine.range(logKey(found.log), after, BATCH);
        for (const { id, event } of entries) {
          const message = JSON.parse(event.data ?? 'null') as unknown;
          // Priming events (`{}`, the SDK's empty first event) carry no message to replay.
          if (isObject(message) && Object.keys(message).length > 0) {
            await send(`${found.log}.${id}`, message);
          }
        }
        if (entries.length > 0) after = entries.at(-1)!.id;
        if (entries.length === BATCH) continue;
        const pending = storing.get(key);
        if (pending && pending.size > 0) await Promise.all(pending);
        else if ((settledStores.get(key) ?? 0) === settledBefore) return found.streamId;
      }
    },
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** 128 random bits as 22 base64url characters. */
function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
