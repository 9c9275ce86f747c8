import { useEffect, useState } from 'react';
import { createMultiplex, type Multiplex, type TopicEvent } from '../../../src/client/multiplex.ts';
import type { BackgroundJob, DemoNotification, LogLine, MetricsSample } from '../shared.ts';
import { describeError } from './describe-error.ts';
import { LineChart } from './line-chart.tsx';

const plural = (count: number, noun: string) => `${count} ${noun}${count === 1 ? '' : 's'}`;

/** What a panel keeps of its topic: the last `keep` events' data, and how many came. */
interface TopicState<T> {
  items: T[];
  received: number;
}

/** Subscribes to one topic of the shared connection for as long as the component lives. */
function useTopic<T>(multiplex: Multiplex, topic: string, keep: number): TopicState<T> {
  const [state, setState] = useState<TopicState<T>>({ items: [], received: 0 });
  useEffect(() => {
    const subscription = multiplex.subscribe(topic, (event: TopicEvent) => {
      const data = JSON.parse(event.data) as T;
      setState((current) => ({
        items: [...current.items.slice(Math.max(0, current.items.length - keep + 1)), data],
        received: current.received + 1,
      }));
    });
    return () => subscription.unsubscribe();
  }, [multiplex, topic, keep]);
  return state;
}

/**
 * The dashboard: four live panels (logs, metrics, a background job's progress, notifications),
 * every topic on ONE connection (`createMultiplex` of ssekit/client/multiplex against the hub's
 * `subscribeMany`), shared with the other tabs of this page: open it twice, the server still
 * holds one connection.
 */
export function Dashboard() {
  const [multiplex, setMultiplex] = useState<Multiplex>();
  const [role, setRole] = useState<Multiplex['role']>();
  const [failure, setFailure] = useState<unknown>();
  useEffect(() => {
    const created = createMultiplex('/api/topics', {
      controlUrl: '/api/topics/control',
      onError: setFailure, // it reconnects by itself; the panel says why it had to
    });
    setMultiplex(created);
    // The role changes when the leading tab goes away: another tab takes the connection over.
    const timer = setInterval(() => setRole(created.role), 250);
    setRole(created.role);
    return () => {
      clearInterval(timer);
      created.close();
    };
  }, []);
  if (!multiplex) return null;
  return (
    <section className="dashboard" aria-labelledby="dashboard-title" data-role={role}>
      <header className="dashboard-header">
        <h2 id="dashboard-title">Dashboard: four live panels, one connection</h2>
        <p>
          Every topic on one connection (<code>createMultiplex</code>), shared by the tabs of this
          page: this tab is the <strong data-testid="tab-role">{role}</strong>
          {role === 'leader'
            ? ' (it holds the connection)'
            : role === 'follower'
              ? ' (another tab holds the connection)'
              : ''}
          . Open it in another tab: still one connection.
        </p>
        {failure !== undefined && (
          <p className="error" role="alert">
            {describeError(failure)} (reconnecting)
          </p>
        )}
      </header>
      <div className="grid dashboard-grid">
        <ConnectionsPanel multiplex={multiplex} />
        <JobsPanel multiplex={multiplex} />
        <DashboardLogs multiplex={multiplex} />
        <NotificationsPanel multiplex={multiplex} />
      </div>
    </section>
  );
}

function ConnectionsPanel({ multiplex }: { multiplex: Multiplex }) {
  const { items, received } = useTopic<MetricsSample>(multiplex, 'metrics', 60);
  const latest = items.at(-1);
  return (
    <section className="panel compact" data-topic="metrics" data-received={received}>
      <header>
        <h3>Metrics</h3>
        <span className="count">{plural(received, 'event')}</span>
      </header>
      <p className="big" data-testid="multiplexed-connections" data-count={latest?.multiplexed}>
        <strong>{latest ? latest.multiplexed : '–'}</strong> multiplexed connection
        {latest?.multiplexed === 1 ? '' : 's'} on the server
      </p>
      <p className="notice">
        {latest
          ? `${plural(latest.connections, 'event stream')} in all · CPU ${latest.cpu.toFixed(1)} % · heap ${latest.memoryMb.toFixed(1)} MiB`
          : 'waiting for the first sample…'}
      </p>
      <LineChart
        label="CPU %"
        x={items.map((sample) => sample.time / 1000)}
        y={items.map((sample) => sample.cpu)}
        color="#2563eb"
        range={[0, 100]}
      />
    </section>
  );
}

function JobsPanel({ multiplex }: { multiplex: Multiplex }) {
  const { items, received } = useTopic<BackgroundJob>(multiplex, 'jobs', 200);
  const current = items.at(-1);
  const finished = [...new Set(items.filter((job) => job.state === 'done').map((job) => job.name))];
  return (
    <section className="panel compact" data-topic="jobs" data-received={received}>
      <header>
        <h3>Background jobs</h3>
        <span className="count">{plural(received, 'event')}</span>
      </header>
      {current ? (
        <>
          <p>
            <strong>{current.name}</strong> ({current.jobId}): {current.state}
          </p>
          <div
            className="progress overall"
            data-testid="dash-job-percent"
            data-percent={current.percent}
          >
            <div className="fill" style={{ width: `${current.percent}%` }} />
            <span>{current.percent} %</span>
          </div>
        </>
      ) : (
        <p className="hint">waiting for a job…</p>
      )}
      {finished.length > 0 && <p className="notice">Finished: {finished.join(', ')}</p>}
    </section>
  );
}

function DashboardLogs({ multiplex }: { multiplex: Multiplex }) {
  const { items, received } = useTopic<LogLine>(multiplex, 'logs', 12);
  return (
    <section className="panel compact" data-topic="logs" data-received={received}>
      <header>
        <h3>Logs</h3>
        <span className="count">{plural(received, 'event')}</span>
      </header>
      <ol className="log-lines">
        {items.map((line) => (
          <li key={line.seq} className={`log-line level-${line.level}`} data-testid="dash-log">
            <time>{new Date(line.time).toLocaleTimeString()}</time>
            <span className="level">{line.level}</span>
            <span className="source">{line.source}</span> {line.message}
          </li>
        ))}
      </ol>
    </section>
  );
}

function NotificationsPanel({ multiplex }: { multiplex: Multiplex }) {
  const { items, received } = useTopic<DemoNotification>(multiplex, 'notifications', 8);
  return (
    <section className="panel compact" data-topic="notifications" data-received={received}>
      <header>
        <h3>Notifications</h3>
        <span className="count">{plural(received, 'event')}</span>
      </header>
      <ul className="notifications">
        {[...items].reverse().map((item) => (
          <li
            key={item.seq}
            className={`notification ${item.level}`}
            data-testid="dash-notification"
          >
            <time>{new Date(item.time).toLocaleTimeString()}</time> {item.text}
          </li>
        ))}
      </ul>
      {items.length === 0 && <p className="hint">none yet: finish a chat or a job, or wait</p>}
    </section>
  );
}
