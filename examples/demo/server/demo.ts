/**
 * The demo server: ssekit's server and hub behind node:http, the API of the panels (chat, AI chat,
 * job, logs, metrics) and of the dashboard (every topic on one connection), and the built page, on
 * one port. `startDemo()` is what `npm start` runs and what the tests start on a
 * free port.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { toNodeHandler } from '../../../src/adapters/node.ts';
import { createHub, type Hub, type HubEngine } from '../../../src/hub/index.ts';
import type { EventStreamOptions } from '../../../src/server/index.ts';
import { type ConnectionStats, DASHBOARD_TOPICS, type RunRecord } from '../shared.ts';
import { createAiChat } from './ai-chat.ts';
import { createChatHandler, type OpenAiOptions } from './chat.ts';
import { createNotifier, startFeeds } from './feeds.ts';
import { createJobHandler } from './job.ts';
import { createRoutes } from './routes.ts';
import { createRunRegistry } from './runs.ts';
import { createStaticHandler } from './static.ts';

/** Options of {@link startDemo}. */
export interface DemoOptions {
  /** `0` picks a free port. @default 3000 */
  port?: number;
  /** @default '127.0.0.1' (this machine only) */
  host?: string;
  /**
   * How long one chat response may last before the server cuts it and the client resumes: short,
   * so that resumption happens in plain sight.
   * @default 10_000
   */
  maxDurationMs?: number;
  /** The `retry:` hint at a deadline or at shutdown, plus up to `retryJitterMs`. @default 1000 */
  retryMs?: number;
  /** @default 1000 */
  retryJitterMs?: number;
  /** The fake model's pause per token. @default 35 */
  tokenDelayMs?: number;
  /** The AI chat's scripted model's pause per token. @default 35 */
  aiTokenDelayMs?: number;
  /**
   * Awaited by the AI chat's model before token `index` when it returns a promise: tests hold an
   * answer in the middle (a reload, a stop) instead of racing its timing.
   */
  aiPace?: (index: number) => Promise<void> | undefined;
  /** The long job's pause per step (75 steps). @default 80 */
  jobStepMs?: number;
  /** @default 600 */
  logIntervalMs?: number;
  /** @default 1000 */
  metricsIntervalMs?: number;
  /** The dashboard's background jobs: one step (2 %) per interval. @default 200 */
  jobFeedIntervalMs?: number;
  /** The dashboard's notifications. @default 5000 */
  notificationIntervalMs?: number;
  /** Use Redis for the hub (several instances share runs and topics). */
  redisUrl?: string;
  /** Relay a real OpenAI-compatible model instead of the fake one. */
  openai?: OpenAiOptions;
  /** The built page. @default examples/demo/dist */
  staticDir?: string;
  /** @default console.error */
  onError?: (error: unknown) => void;
}

/** A running demo. */
export interface Demo {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
  readonly hub: Hub;
  /** The runs started by this process (what `GET /api/debug/runs` lists). */
  runs(): RunRecord[];
  /** The event streams open right now (what `GET /api/debug/connections` says). */
  connections(): ConnectionStats;
  /**
   * Shuts down cleanly: stops accepting connections, ends every event stream with a `retry:`
   * hint (with jitter, so that clients do not all come back at once), then closes.
   */
  close(): Promise<void>;
}

/** The default folder of the built page. */
export const DEFAULT_STATIC_DIR: string = fileURLToPath(new URL('../dist', import.meta.url));

/** Starts the demo server. */
export async function startDemo(options: DemoOptions = {}): Promise<Demo> {
  const onError = options.onError ?? ((error: unknown) => console.error('demo:', error));
  const { engine, closeEngine } = await openEngine(options.redisUrl, onError);
  const hub = createHub({
    ...(engine ? { engine } : {}),
    onError,
    // Clients name topics (the dashboard adds them to a live connection): only the demo's.
    authorizeTopic: (topic) => (DASHBOARD_TOPICS as readonly string[]).includes(topic),
  });
  const notify = createNotifier(hub, onError);
  const runs = createRunRegistry(100, (record) => {
    const what = { chat: 'Chat answer', job: 'Long job', 'ai-chat': 'AI chat answer' }[record.kind];
    notify(record.state === 'finished' ? 'success' : 'warning', `${what} ${record.state}`);
  });
  const shutdown = new AbortController();
  let openStreams = 0;
  let openMultiplexed = 0;

  const base: EventStreamOptions = {
    signal: shutdown.signal,
    onError,
    ...(options.retryMs === undefined ? {} : { retryMs: options.retryMs }),
    ...(options.retryJitterMs === undefined ? {} : { retryJitterMs: options.retryJitterMs }),
  };
  const maxDurationMs = options.maxDurationMs ?? 10_000;
  const chat = createChatHandler({
    hub,
    runs,
    // The margin gets the retry hint out before the cut; a third of a short deadline is plenty.
    stream: {
      ...base,
      maxDurationMs,
      deadlineMarginMs: Math.min(1000, Math.floor(maxDurationMs / 3)),
    },
    ...(options.tokenDelayMs === undefined ? {} : { tokenDelayMs: options.tokenDelayMs }),
    ...(options.openai ? { openai: options.openai } : {}),
  });
  const aiChat = createAiChat({
    hub,
    runs,
    stream: {
      ...base,
      maxDurationMs,
      deadlineMarginMs: Math.min(1000, Math.floor(maxDurationMs / 3)),
    },
    ...(options.aiTokenDelayMs === undefined ? {} : { tokenDelayMs: options.aiTokenDelayMs }),
    ...(options.aiPace === undefined ? {} : { pace: options.aiPace }),
    ...(options.openai ? { openai: options.openai } : {}),
  });
  const connections = (): ConnectionStats => ({
    streams: openStreams,
    multiplexed: openMultiplexed,
  });
  const job = createJobHandler({
    hub,
    runs,
    stream: base,
    ...(options.jobStepMs === undefined ? {} : { stepMs: options.jobStepMs }),
  });
  const route = createRoutes({
    hub,
    chat,
    aiChat,
    job,
    connections,
    files: createStaticHandler(options.staticDir ?? DEFAULT_STATIC_DIR),
    topicStream: base,
    shutdown: shutdown.signal,
    runs: () => runs.list(),
    config: {
      model: options.openai
        ? `${options.openai.model ?? 'gpt-4o-mini'} (OpenAI-compatible relay)`
        : 'built-in fake model',
      resumable: !options.openai,
      engine: engine ? 'redis' : 'memory',
      chatMaxDurationMs: maxDurationMs,
      aiModel: options.openai
        ? `${options.openai.model ?? 'gpt-4o-mini'} (OpenAI-compatible, AI SDK provider v4)`
        : 'scripted (AI SDK provider v4)',
    },
  });

  const server = createServer(
    toNodeHandler(
      async (request, { res }) => {
        const response = await route(request);
        if (response.headers.get('content-type')?.startsWith('text/event-stream')) {
          const multiplexed = new URL(request.url).pathname === '/api/topics';
          openStreams++;
          if (multiplexed) openMultiplexed++;
          res.once('close', () => {
            openStreams--;
            if (multiplexed) openMultiplexed--;
          });
        }
        return response;
      },
      { onError },
    ),
  );
  const stopFeeds = startFeeds({
    hub,
    connections: () => openStreams,
    multiplexed: () => openMultiplexed,
    notify,
    onError,
    ...(options.logIntervalMs === undefined ? {} : { logIntervalMs: options.logIntervalMs }),
    ...(options.metricsIntervalMs === undefined
      ? {}
      : { metricsIntervalMs: options.metricsIntervalMs }),
    ...(options.jobFeedIntervalMs === undefined
      ? {}
      : { jobFeedIntervalMs: options.jobFeedIntervalMs }),
    ...(options.notificationIntervalMs === undefined
      ? {}
      : { notificationIntervalMs: options.notificationIntervalMs }),
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 3000, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  let closing: Promise<void> | undefined;
  const close = async () => {
    stopFeeds();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // Every stream ends now with `retry:` + jitter; clients come back to another instance (or to
    // this one restarted) and resume with Last-Event-ID.
    shutdown.abort();
    const deadline = Date.now() + 2000;
    while (openStreams > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    server.closeAllConnections();
    await closed;
    await hub.close();
    await closeEngine();
  };
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    hub,
    runs: () => runs.list(),
    connections,
    close: () => {
      closing ??= close();
      return closing;
    },
  };
}

async function openEngine(
  redisUrl: string | undefined,
  onError: (error: unknown) => void,
): Promise<{ engine: HubEngine | undefined; closeEngine: () => Promise<void> }> {
  if (!redisUrl) return { engine: undefined, closeEngine: async () => {} };
  // Loaded only when asked for: the default demo needs no Redis client at all.
  const { Redis } = await import('ioredis');
  const { createRedisEngine } = await import('../../../src/hub/redis.ts');
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
  redis.on('error', onError);
  const engine = createRedisEngine({ redis });
  return {
    engine,
    closeEngine: async () => {
      await engine.close();
      redis.disconnect();
    },
  };
}
