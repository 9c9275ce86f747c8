/**
 * The topics of the demo: `logs`, fed by a generator of plausible server logs; `metrics`, one
 * sample per interval; `jobs`, the progress of background jobs that follow one another; and
 * `notifications`, now and then (and when a run ends, see demo.ts). All publish through the hub,
 * so on Redis every instance sees them.
 */
import type { Hub } from '../../../src/hub/index.ts';
import type {
  BackgroundJob,
  DemoNotification,
  LogLevel,
  LogLine,
  MetricsSample,
} from '../shared.ts';

/** Options of {@link startFeeds}. */
export interface FeedOptions {
  hub: Hub;
  /** Event streams open right now, for the connections series. */
  connections: () => number;
  notify: Notify;
  /** The dashboard's multiplexed connections open right now. */
  multiplexed: () => number;
  /** @default 600 */
  logIntervalMs?: number;
  /** @default 1000 */
  metricsIntervalMs?: number;
  /** A background job's step (2 % each). @default 200 */
  jobFeedIntervalMs?: number;
  /** @default 5000 */
  notificationIntervalMs?: number;
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
      multiplexed: options.multiplexed(),
    };
    options.hub.publish('metrics', { event: 'metrics', data: sample }).catch(options.onError);
  };
  let jobs = 0;
  let job: BackgroundJob | undefined;
  const publishJob = () => {
    if (job === undefined || job.state === 'done') {
      jobs++;
      const name = JOB_NAMES[(jobs - 1) % JOB_NAMES.length]!;
      job = { jobId: `job-${jobs}`, name, percent: 0, state: 'running' };
    } else {
      const percent = Math.min(100, job.percent + 2);
      job = { ...job, percent, state: percent === 100 ? 'done' : 'running' };
    }
    options.hub.publish('jobs', { event: 'job', data: job }).catch(options.onError);
  };
  const publishNotification = () => {
    const text = NOTICES[Math.floor(random() * NOTICES.length)]!;
    options.notify(random() < 0.2 ? 'warning' : 'info', text);
  };
  const timers = [
    setInterval(publishLog, options.logIntervalMs ?? 600),
    setInterval(publishMetrics, options.metricsIntervalMs ?? 1000),
    setInterval(publishJob, options.jobFeedIntervalMs ?? 200),
    setInterval(publishNotification, options.notificationIntervalMs ?? 5000),
  ];
  return () => {
    for (const timer of timers) clearInterval(timer);
  };
}

const JOB_NAMES = ['nightly export', 'reindex search', 'resize images', 'send digests'];
const NOTICES = [
  'Deploy 2f1c finished on 3 instances',
  'New sign-up from the pricing page',
  'Backup verified',
  'Certificate renews in 12 days',
  'Disk usage on db-2 above 80 %',
];

/** Publishes a notification to the `notifications` topic. */
export type Notify = (level: DemoNotification['level'], text: string) => void;

/** The notifier of a hub: numbered notifications, in order. */
export function createNotifier(hub: Hub, onError: (error: unknown) => void): Notify {
  let seq = 0;
  return (level, text) => {
    const data: DemoNotification = { seq: ++seq, time: Date.now(), level, text };
    hub.publish('notifications', { event: 'notification', data }).catch(onError);
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
