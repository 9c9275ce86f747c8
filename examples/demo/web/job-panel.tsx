import { type FormEvent, useState } from 'react';
import { useEventStream } from '../../../src/react/index.ts';
import type { JobProgress, JobResult } from '../shared.ts';
import { ConnectionStatus, StreamError } from './connection-status.tsx';
import { cancelRun, runIdOf } from './runs.ts';

const PHASES = ['download', 'analyse', 'render report'];

/**
 * Long job: POST the parameters, follow `progress` events through named phases, get the result
 * in `done`. Cancel cancels the run on the server; its `done` event then says so.
 */
export function JobPanel() {
  const [items, setItems] = useState(500);
  const [progress, setProgress] = useState<JobProgress>();
  const [result, setResult] = useState<JobResult>();
  const [cancelled, setCancelled] = useState(false);
  const [runId, setRunId] = useState('');
  const stream = useEventStream('/api/jobs', {
    maxEvents: 0,
    onEvent(event) {
      if (event.type === 'progress') setProgress(JSON.parse(event.data) as JobProgress);
      if (event.type === 'run') setRunId((JSON.parse(event.data) as { runId: string }).runId);
    },
    onDone({ event }) {
      const data = JSON.parse(event?.data ?? '{}') as JobResult & { cancelled?: boolean };
      if (data.cancelled) setCancelled(true);
      else setResult(data);
    },
  });
  const busy = ['connecting', 'open', 'reconnecting'].includes(stream.status);

  const start = (event: FormEvent) => {
    event.preventDefault();
    setProgress(undefined);
    setResult(undefined);
    setCancelled(false);
    setRunId('');
    stream.start({ items });
  };
  const cancel = () => {
    const id = runId || runIdOf(stream.lastEventId);
    // The stream stays open: the run's own `done` event confirms the cancellation.
    if (id) void cancelRun(id);
    else stream.stop();
  };

  const percent = result ? 100 : (progress?.percent ?? 0);
  const phases = progress?.phases ?? PHASES;
  return (
    <section className="panel job" aria-labelledby="job-title" data-run-id={runId}>
      <header>
        <h2 id="job-title">Long job</h2>
        <ConnectionStatus stream={stream} />
      </header>
      <form onSubmit={start} className="job-form">
        <label>
          Items
          <input
            type="number"
            min={10}
            max={5000}
            value={items}
            onChange={(event) => setItems(Number(event.target.value))}
          />
        </label>
        <button type="submit" disabled={busy}>
          Start job
        </button>
        <button type="button" className="secondary" onClick={cancel} disabled={!busy}>
          Cancel
        </button>
      </form>
      <div
        className="progress overall"
        role="progressbar"
        aria-valuenow={percent}
        aria-valuemin={0}
        aria-valuemax={100}
        data-testid="job-percent"
        data-percent={percent}
      >
        <div className="fill" style={{ width: `${percent}%` }} />
        <span>{percent}%</span>
      </div>
      <ol className="phases">
        {phases.map((name, index) => {
          const state = phaseState(index, progress, result !== undefined);
          const fraction =
            state === 'done' ? 1 : state === 'active' ? (progress?.fraction ?? 0) : 0;
          return (
            <li key={name} className={`phase ${state}`}>
              <span className="name">{name}</span>
              <div className="progress">
                <div className="fill" style={{ width: `${Math.round(fraction * 100)}%` }} />
              </div>
              <span className="percent">{Math.round(fraction * 100)}%</span>
            </li>
          );
        })}
      </ol>
      {result && (
        <dl className="result" data-testid="job-result">
          <dt>Result</dt>
          <dd>{result.summary}</dd>
          <dt>Checksum</dt>
          <dd>
            <code>{result.checksum}</code>
          </dd>
          <dt>Took</dt>
          <dd>{(result.durationMs / 1000).toFixed(1)} s</dd>
        </dl>
      )}
      {cancelled && (
        <p className="notice" data-testid="job-cancelled">
          Cancelled on the server.
        </p>
      )}
      <StreamError stream={stream} />
    </section>
  );
}

function phaseState(
  index: number,
  progress: JobProgress | undefined,
  finished: boolean,
): 'pending' | 'active' | 'done' {
  if (finished) return 'done';
  if (!progress || index > progress.phaseIndex) return 'pending';
  if (index < progress.phaseIndex || progress.fraction >= 1) return 'done';
  return 'active';
}
