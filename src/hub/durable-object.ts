/**
 * ssekit/hub/durable-object: the hub on Cloudflare Durable Objects, so that a Worker gets
 * resumable runs and topics with no service outside Cloudflare. Each log and each value is a
 * Durable Object of the class {@link HubObject} (addressed with `idFromName`), which stores it
 * in its transactional storage, trims it, expires it with alarms and streams its appends to the
 * Worker requests that follow it; one more object carries cancels to every listening Worker.
 *
 * Nothing here imports `cloudflare:workers` or needs `nodejs_compat`: the namespace binding is
 * typed structurally ({@link DurableObjectNamespaceLike}) and the object speaks `fetch`.
 *
 * @module
 */
import { EngineError } from '../errors.ts';
import { readLines, type TailLine, toLogEntry, type WireEntry } from './_durable-object-wire.ts';
import {
  type AppendOptions,
  compareIds,
  type HubEngine,
  type LogEntry,
  type LogTail,
  type StoredEvent,
  tailGapError,
} from './engine.ts';

export {
  type DurableObjectStateLike,
  type DurableObjectStorageLike,
  HubObject,
} from './_durable-object-log.ts';

/** A Durable Object stub, as the engine uses it (`DurableObjectStub` has it as is). */
export interface DurableObjectStubLike {
  fetch(input: string, init?: RequestInit): Promise<Response>;
}

/** A Durable Object namespace binding (`env.HUB`), as the engine uses it. */
export interface DurableObjectNamespaceLike {
  idFromName(name: string): unknown;
  get(id: never): DurableObjectStubLike;
}

/** Options of {@link createDurableObjectEngine}. */
export interface DurableObjectEngineOptions {
  /** The binding of the {@link HubObject} class (`env.HUB` with `[[durable_objects.bindings]]`). */
  namespace: DurableObjectNamespaceLike;
  /**
   * Prefix of every object's name, to run two separate hubs on one namespace.
   * @default 'ssekit:'
   */
  prefix?: string;
  /**
   * The first delay before a broken tail or cancel listener reconnects; it doubles up to 2 s.
   * @default 100
   */
  retryDelayMs?: number;
}

/**
 * Creates the Durable Object engine. Nothing happens until first use: no object is called, no
 * timer started. workerd ties every connection to the request that opened it, so create the hub
 * (and its engine) inside the request handler, one per request: a hub's tails then live exactly
 * as long as the request that follows them (see docs/hub.md).
 *
 * @example
 * ```ts
 * import { createHub } from 'ssekit/hub';
 * import { createDurableObjectEngine } from 'ssekit/hub/durable-object';
 *
 * export { HubObject } from 'ssekit/hub/durable-object';
 *
 * export default {
 *   fetch(request: Request, env: { HUB: DurableObjectNamespace }): Promise<Response> {
 *     const hub = createHub({ engine: createDurableObjectEngine({ namespace: env.HUB }) });
 *     return hub.subscribe(request, 'news');
 *   },
 * };
 * ```
 */
export function createDurableObjectEngine(options: DurableObjectEngineOptions): HubEngine {
  const { namespace } = options;
  if (typeof namespace?.idFromName !== 'function' || typeof namespace.get !== 'function') {
    throw new TypeError(
      'namespace must be a Durable Object namespace binding of the HubObject class (env.HUB, say).',
    );
  }
  const prefix = options.prefix ?? 'ssekit:';
  const retryDelayMs = options.retryDelayMs ?? 100;
  const streams = new Set<{ stop(): void }>();
  let closed = false;

  const stub = (name: string): DurableObjectStubLike =>
    namespace.get(namespace.idFromName(`${prefix}${name}`) as never);

  /** Calls the object of `key` (`k:<key>`, or `control` for cancels); JSON in, JSON out. */
  const call = async (
    name: string,
    operation: string,
    path: string,
    body?: unknown,
  ): Promise<unknown> => {
    let response: Response;
    try {
      response = await stub(name).fetch(`https://hub.ssekit${path}`, {
        method: body === undefined ? 'GET' : 'POST',
        ...(body === undefined
          ? {}
          : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
      });
    } catch (cause) {
      throw new EngineError(`Durable Object ${operation} failed: ${message(cause)}`, { cause });
    }
    if (response.ok) return response.json();
    const { error } = (await response.json().catch(() => ({}))) as { error?: string };
    throw new EngineError(
      `Durable Object ${operation} failed: ${error ?? `status ${response.status}`}`,
      response.status === 409 ? { code: 'append-conflict' } : undefined,
    );
  };

  /**
   * A streamed answer followed for as long as it is wanted: reconnects with backoff when it
   * breaks (`path()` gives where to resume), hands each line to `onLine`.
   */
  const follow = (
    name: string,
    path: () => string,
    onLine: (line: unknown) => void,
    onError: ((error: unknown) => void) | undefined,
    /** Hears a first connection that failed (`ready` rejects); without it, retries forever. */
    onSetupFailed: ((error: unknown) => void) | undefined,
  ): { stop(): void } => {
    const reader: { current?: ReadableStreamDefaultReader<Uint8Array> } = {};
    let stopped = false;
    let connected = false;
    const handle = {
      stop() {
        stopped = true;
        streams.delete(handle);
        try {
          reader.current?.cancel().catch(() => {});
        } catch {
          // Opened by a request that ended (workerd refuses I/O across requests): gone already.
        }
      },
    };
    streams.add(handle);
    void (async () => {
      for (let delay = retryDelayMs; !stopped; ) {
        try {
          const response = await stub(name).fetch(`https://hub.ssekit${path()}`);
          if (!response.ok || !response.body) throw new Error(`status ${response.status}`);
          if (stopped) {
            await response.body.cancel();
            return;
          }
          await readLines(
            response.body,
            (line) => {
              connected = true;
              delay = retryDelayMs;
              onLine(line);
            },
            reader,
          );
          if (stopped) return;
          throw new Error('the object ended the stream');
        } catch (cause) {
          if (stopped) return;
          const error = new EngineError(`Durable Object tail failed: ${message(cause)}`, {
            cause,
          });
          if (!connected && onSetupFailed) {
            // Never up: `ready` rejects and the tail is done (the contract's "cannot be set up").
            handle.stop();
            onSetupFailed(error);
            return;
          }
          onError?.(error);
          await new Promise((resolve) => setTimeout(resolve, delay));
          delay = Math.min(delay * 2, 2_000);
        }
      }
    })();
    return handle;
  };

  return {
    async append(key: string, event: StoredEvent, append: AppendOptions = {}): Promise<string> {
      const body: Record<string, unknown> = {};
      if (append.id !== undefined) body.id = append.id;
      if (event.event !== undefined) body.e = event.event;
      if (event.data !== undefined) body.d = event.data;
      if (append.maxLen !== undefined) body.maxLen = append.maxLen;
      if (append.maxAgeMs !== undefined && Number.isFinite(append.maxAgeMs))
        body.maxAgeMs = append.maxAgeMs;
      if (append.ttlMs !== undefined) body.ttlMs = Math.ceil(append.ttlMs);
      const { id } = (await call(`k:${key}`, 'append', '/append', body)) as { id: string };
      return id;
    },
    async range(key: string, after: string | undefined, count: number): Promise<LogEntry[]> {
      const query = `count=${count}${after === undefined ? '' : `&after=${after}`}`;
      const entries = (await call(`k:${key}`, 'range', `/range?${query}`)) as WireEntry[];
      return entries.map(toLogEntry);
    },
    async bounds(key: string) {
      const bounds = (await call(`k:${key}`, 'bounds', '/bounds')) as {
        first: string;
        last: string;
      } | null;
      return bounds ?? undefined;
    },
    tail(
      key: string,
      listener: (entry: LogEntry) => void,
      onError?: (error: unknown) => void,
    ): LogTail {
      let cursor: string | undefined;
      let resolveReady!: () => void;
      let rejectReady!: (error: unknown) => void;
      const ready = new Promise<void>((resolve, reject) => {
        resolveReady = resolve;
        rejectReady = reject;
      });
      // Its caller awaits it (and sees the failure); one that closed the tail first never does.
      ready.catch(() => {});
      if (closed) {
        rejectReady(new EngineError('Durable Object tail failed: the engine is closed.'));
        return { ready, close() {} };
      }
      const handle = follow(
        `k:${key}`,
        () => (cursor === undefined ? '/tail' : `/tail?after=${cursor}`),
        (value) => {
          const line = value as TailLine;
          if ('g' in line) {
            onError?.(tailGapError('Durable Object', key, line.g.after, line.g.next));
            return;
          }
          if ('r' in line) {
            // Registered: entries after the log's last id at that moment reach this tail.
            if (cursor === undefined) cursor = line.r;
            resolveReady();
            return;
          }
          // A reconnection replays after the cursor; anything at or below it was delivered.
          if (cursor !== undefined && compareIds(line.i, cursor) <= 0) return;
          cursor = line.i;
          listener(toLogEntry(line));
        },
        onError,
        (error) => rejectReady(error),
      );
      return { ready, close: () => handle.stop() };
    },
    async setValue(key: string, value: string, ttlMs: number): Promise<void> {
      await call(`k:${key}`, 'setValue', '/value/set', { value, ttlMs: Math.ceil(ttlMs) });
    },
    async getValue(key: string): Promise<string | undefined> {
      const { value } = (await call(`k:${key}`, 'getValue', '/value/get')) as {
        value: string | null;
      };
      return value ?? undefined;
    },
    async publishCancel(runId: string): Promise<void> {
      await call('control', 'publishCancel', '/cancel', { runId });
    },
    onCancel(listener: (runId: string) => void): () => void {
      if (closed) return () => {};
      const handle = follow(
        'control',
        () => '/cancels',
        (line) => {
          // `{ r: true }` first (registered), then `{ c: runId }` for each cancel.
          const cancel = (line as { c?: unknown }).c;
          if (typeof cancel === 'string') listener(cancel);
        },
        // Failures are retried with backoff and reported nowhere (the interface has no error
        // path for them); the hub also records a cancel as a value, which a run reads.
        undefined,
        undefined,
      );
      return () => handle.stop();
    },
    async close(): Promise<void> {
      closed = true;
      for (const stream of [...streams]) stream.stop();
    },
  };
}

function message(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}
