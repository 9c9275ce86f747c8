/**
 * The shapes the demo's server sends and its page reads (types only, so the page bundles none of
 * the server).
 */

/** One chat message, as the page POSTs the conversation. */
export interface ChatMessage {
  role: 'user' | 'assistant';
  content: string;
}

/** `POST /api/chat` body. */
export interface ChatRequest {
  messages: ChatMessage[];
}

/** `POST /api/jobs` body. */
export interface JobRequest {
  /** How much work: 10 to 5000 items. */
  items: number;
}

/** The data of a job's `progress` event. */
export interface JobProgress {
  phase: string;
  /** Completion of the phase, 0 to 1. */
  fraction: number;
  /** The job's overall completion, 0 to 100. */
  percent: number;
  phaseIndex: number;
  phases: string[];
}

/** The data of a job's `done` event. */
export interface JobResult {
  items: number;
  checksum: string;
  durationMs: number;
  summary: string;
}

/** Log levels, from the noisiest. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The data of a `log` event. */
export interface LogLine {
  seq: number;
  /** ms since the epoch, at the server. */
  time: number;
  level: LogLevel;
  source: string;
  message: string;
}

/** The data of a `metrics` event, one sample per interval. */
export interface MetricsSample {
  time: number;
  /** A CPU-like percentage (simulated). */
  cpu: number;
  /** The server's JavaScript heap, in MiB. */
  memoryMb: number;
  /** Event streams open on this server right now. */
  connections: number;
  /** Of those, the dashboard's multiplexed connections (`GET /api/topics`). */
  multiplexed: number;
}

/** The topics of the dashboard, all on one connection (`GET /api/topics?topic=...`). */
export const DASHBOARD_TOPICS = ['logs', 'metrics', 'jobs', 'notifications'] as const;

/** The data of a `job` event of the `jobs` topic: a background job's progress. */
export interface BackgroundJob {
  jobId: string;
  name: string;
  /** 0 to 100. */
  percent: number;
  state: 'running' | 'done';
}

/** The data of a `notification` event of the `notifications` topic. */
export interface DemoNotification {
  seq: number;
  time: number;
  level: 'info' | 'success' | 'warning';
  text: string;
}

/** `GET /api/debug/connections`: the event streams open on the server right now. */
export interface ConnectionStats {
  /** Every event stream. */
  streams: number;
  /** The dashboard's multiplexed connections (`GET /api/topics`), every tab included. */
  multiplexed: number;
}

/** `GET /api/config`: what the page shows in its header. */
export interface DemoConfig {
  model: string;
  /** Whether chat answers are resumable hub runs (the fake model) or a plain relay (OpenAI). */
  resumable: boolean;
  engine: 'memory' | 'redis';
  chatMaxDurationMs: number;
  /** The AI chat's model (`createChatStreams` of ssekit/ai). */
  aiModel: string;
}

/** One entry of `GET /api/debug/runs`. */
export interface RunRecord {
  runId: string;
  /** `ai-chat`: one call of the AI chat's model (one per answer, never one per resume). */
  kind: 'chat' | 'job' | 'ai-chat';
  state: 'running' | 'finished' | 'cancelled' | 'failed';
  startedAt: number;
  endedAt?: number;
  /** `ai-chat`: the chat the answer belongs to. */
  chatId?: string;
  /** `ai-chat`: the tokens the model has produced so far. */
  tokens?: number;
}
