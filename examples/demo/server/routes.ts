/**
 * The demo's HTTP API, as one Web handler `(request) => Response`:
 *
 * | route | what |
 * | --- | --- |
 * | `POST /api/chat` | the chat answer (a resumable run) |
 * | `POST /api/ai/chat` | the AI chat's answer (ssekit/ai `createChatStreams`, for `useChat`) |
 * | `GET /api/ai/chat/:id/stream` | the AI answer in progress, after a reload (204 when none) |
 * | `GET /api/ai/chat/:id/messages` | the AI chat as stored |
 * | `POST /api/jobs` | a long job with progress (a resumable run) |
 * | `POST /api/runs/cancel` | cancels a run: `{ "runId" }` or `{ "lastEventId" }` |
 * | `GET /api/logs?level=warn` | the log topic, filtered on the server per subscription |
 * | `GET /api/metrics` | the metrics topic, latest value wins for slow clients |
 * | `GET /api/topics?topic=logs&topic=jobs` | the dashboard: many topics on one connection |
 * | `POST /api/topics/control` | adds and removes topics on a live connection |
 * | `GET /api/config` | model, engine, chat deadline |
 * | `GET /api/debug/runs` | the runs of this process and how they ended |
 * | `GET /api/debug/connections` | the event streams open now, and how many are multiplexed |
 * | `POST /api/debug/drop` | ends every topic subscription with a `retry:` hint, to show replay |
 * | `GET /*` | the built page |
 */
import type { Hub } from '../../../src/hub/index.ts';
import type { EventStreamEvent, EventStreamOptions } from '../../../src/server/index.ts';
import {
  type ConnectionStats,
  DASHBOARD_TOPICS,
  type DemoConfig,
  LOG_LEVELS,
  type LogLevel,
  type RunRecord,
} from '../shared.ts';
import type { AiChatHandlers } from './ai-chat.ts';

/** What the routes need. */
export interface RouteOptions {
  hub: Hub;
  chat: (request: Request) => Promise<Response>;
  aiChat: AiChatHandlers;
  job: (request: Request) => Promise<Response>;
  files: (request: Request) => Promise<Response>;
  /** Stream options of topic subscriptions (shutdown signal, retry hint). */
  topicStream: EventStreamOptions;
  shutdown: AbortSignal;
  runs: () => RunRecord[];
  connections: () => ConnectionStats;
  config: DemoConfig;
}

const AI_CHAT_PATH = /^\/api\/ai\/chat\/([\w-]{1,64})\/(stream|messages)$/;
const DASHBOARD: ReadonlySet<string> = new Set(DASHBOARD_TOPICS);

/** The demo's handler. */
export function createRoutes(options: RouteOptions): (request: Request) => Promise<Response> {
  const { hub } = options;
  // Aborted (and replaced) by POST /api/debug/drop: ends the current topic streams only.
  let drop = new AbortController();
  const topicOptions = () => ({
    ...options.topicStream,
    signal: AbortSignal.any([options.shutdown, drop.signal]),
  });

  const routes: Record<string, (request: Request) => Promise<Response> | Response> = {
    'POST /api/chat': options.chat,
    'POST /api/ai/chat': (request) => options.aiChat.stream(request),
    'POST /api/jobs': options.job,
    'POST /api/runs/cancel': (request) => hub.handleCancel(request),
    'GET /api/logs': (request) => {
      const param = new URL(request.url).searchParams.get('level') ?? 'debug';
      const level = LOG_LEVELS.indexOf(param as LogLevel);
      if (level === -1) {
        return error(400, 'bad-request', `level must be one of ${LOG_LEVELS.join(', ')}.`);
      }
      return hub.subscribe(request, 'logs', {
        ...topicOptions(),
        // Filtering on the server: a client that asks for errors is not sent the debug lines.
        filter: (event) => LOG_LEVELS.indexOf(levelOf(event)) >= level,
      });
    },
    'GET /api/metrics': (request) =>
      hub.subscribe(request, 'metrics', {
        ...topicOptions(),
        // One key for every sample: a client that is behind gets the newest, not a backlog.
        coalesce: () => 'metrics',
      }),
    'GET /api/topics': (request) => {
      const topics = new URL(request.url).searchParams.getAll('topic');
      const unknown = topics.find((topic) => !DASHBOARD.has(topic));
      if (unknown !== undefined || topics.length === 0) {
        const known = DASHBOARD_TOPICS.join(', ');
        return error(400, 'bad-request', `topic must be one or more of ${known}.`);
      }
      return hub.subscribeMany(request, topics, {
        ...topicOptions(),
        coalesce: (topic) => (topic === 'metrics' || topic === 'jobs' ? topic : undefined),
      });
    },
    'POST /api/topics/control': (request) => hub.handleTopics(request),
    'GET /api/config': () => Response.json(options.config),
    'GET /api/debug/runs': () => Response.json({ runs: options.runs() }),
    'GET /api/debug/connections': () => Response.json(options.connections()),
    'POST /api/debug/drop': () => {
      drop.abort();
      drop = new AbortController();
      return Response.json({ dropped: true });
    },
  };

  return async (request) => {
    const { pathname } = new URL(request.url);
    const handler = routes[`${request.method} ${pathname}`];
    if (handler) return handler(request);
    const ai = AI_CHAT_PATH.exec(pathname);
    if (ai && request.method === 'GET') {
      const chatId = ai[1]!;
      return ai[2] === 'stream'
        ? options.aiChat.resume(request, chatId)
        : options.aiChat.messages(chatId);
    }
    if (pathname.startsWith('/api/')) {
      const known = Object.keys(routes).some((key) => key.endsWith(` ${pathname}`));
      return known
        ? error(405, 'method-not-allowed', `${request.method} ${pathname} is not allowed.`)
        : error(404, 'not-found', `No route ${request.method} ${pathname}.`);
    }
    if (request.method === 'GET' || request.method === 'HEAD') return options.files(request);
    return error(405, 'method-not-allowed', `${request.method} ${pathname} is not allowed.`);
  };
}

function levelOf(event: EventStreamEvent): LogLevel {
  try {
    return (JSON.parse(String(event.data)) as { level: LogLevel }).level;
  } catch {
    return 'info';
  }
}

function error(status: number, code: string, message: string): Response {
  return Response.json({ error: { code, message } }, { status });
}
