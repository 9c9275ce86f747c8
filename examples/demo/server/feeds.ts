/**
 * The two topics of the demo: `logs`, fed by a generator of plausible server logs, and `metrics`,
 * one sample per interval. Both publish through the hub, so on Redis every instance sees them.
 */
import type { Hub } from '../../../src/hub/index.ts';
import type { LogLevel, LogLine, MetricsSample } from '../shared.ts';

/** Options of {@link startFeeds}. */
export interface FeedOptions {
  hub: Hub;
  /** Event streams open right now, for the connections series. */
  connections: () => number;
  /** @default 600 */
  logIntervalMs?: number;
  /** @default 1000 */
  metricsIntervalMs?: number;
  onError: (error: unknown) => void;
}

const SOURCES = ['api', 'worker', 'db', 'auth', 'cache'] as const;
const MESSAGES: Record<LogLevel, readonly string[]> = {
  debug: ['cache lookup user:{n}', 'pool has {n} idle connections', 'span {n} closed'],
  info: [
    'GET /api/orders/{n} 200 in {n} ms',
    'POST /api/checkout 201 in {n} ms',
    'user {n} signed in',
    'job {n} finished',
  ],
  warn: [
    'slow query on orders ({n} ms)',
    'retrying payment provider (attempt {n})',
    'queue depth {n}',
  ],
  error: ['payment provider timed out after {n} ms', 'POST /api/checkout 500: upstream reset'],
};

/** Starts both feeds; the returned function stops them. */
export function startFeeds(options: FeedOptions): () => void {
  const random = seededRandom(42);
  let seq = 0;
  const publishLog = () => {
    const roll = random();
    const level: LogLevel =
      roll < 0.3 ? 'debug' : roll < 0.75 ? 'info' : roll < 0.93 ? 'warn' : 'error';
    const templates = MESSAGES[level];
    const template = templates[Math.floor(random() * templates.length)]!;
    const line: LogLine = {
      seq: ++seq,
      time: Date.now(),
      level,
      source: SOURCES[Math.floor(random() * SOURCES.length)]!,
      message: template.replace(/\{n\}/g, () => String(1 + Math.floor(random() * 900))),
    };
    options.hub.publish('logs', { event: 'log', data: line }).catch(options.onError);
  };
  let tick = 0;
  const publishMetrics = () => {
    tick++;
    // A slow wave with noise: looks like a busy service, without depending on this machine's load.
    const cpu = 40 + 25 * Math.sin(tick / 8) + 10 * (random() - 0.5);
    const sample: MetricsSample = {
      time: Date.now(),
      cpu: Math.round(Math.min(100, Math.max(0, cpu)) * 10) / 10,
      memoryMb: Math.round((process.memoryUsage().heapUsed / 2 ** 20) * 10) / 10,
      connections: options.connections(),
    };
    options.hub.publish('metrics', { event: 'metrics', data: sample }).catch(options.onError);
  };
  const logs = setInterval(publishLog, options.logIntervalMs ?? 600);
  const metrics = setInterval(publishMetrics, options.metricsIntervalMs ?? 1000);
  return () => {
    clearInterval(logs);
    clearInterval(metrics);
  };
}

/** mulberry32: the same "random" log lines on every run. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}
