import { Fragment, useEffect, useMemo, useRef, useState } from 'react';
import { type ServerSentEvent, useEventStream } from '../../../src/react/index.ts';
import { LOG_LEVELS, type LogLevel, type LogLine } from '../shared.ts';
import { ConnectionStatus, StreamError } from './connection-status.tsx';

const KEPT_LINES = 300;

/** A reconnection: after which line it happened, and when the new connection opened. */
interface Reconnect {
  afterId: string;
  openedAt: number | undefined;
}

/**
 * Live logs: a topic with a server-side level filter (`?level=`), a pause that buffers, and replay
 * after a reconnect (the client sends Last-Event-ID, the hub replays what was missed).
 */
export function LogsPanel() {
  const [level, setLevel] = useState<LogLevel>('info');
  const [paused, setPaused] = useState<readonly ServerSentEvent[]>();
  const [reconnects, setReconnects] = useState<Reconnect[]>([]);
  const received = useRef(0);
  const receivedAtPause = useRef(0);
  const stream = useEventStream(`/api/logs?level=${level}`, {
    maxEvents: KEPT_LINES,
    onEvent: () => received.current++,
    onRetry: ({ lastEventId }) =>
      setReconnects((current) =>
        current.at(-1)?.openedAt === undefined && current.length > 0
          ? current // a failed attempt of the same reconnection
          : [...current, { afterId: lastEventId, openedAt: undefined }],
      ),
    onOpen: () =>
      setReconnects((current) => {
        const last = current.at(-1);
        return last && last.openedAt === undefined
          ? [...current.slice(0, -1), { ...last, openedAt: Date.now() }]
          : current;
      }),
  });
  const { start, stop } = stream;
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new level is a new URL, which start() reads
  useEffect(() => {
    setReconnects([]);
    start(); // a new level is a new subscription, from now on
    return stop;
  }, [level, start, stop]);

  // Pausing freezes the view; lines keep arriving into the hook's buffer (the last 300 are kept)
  // and show up on resume.
  const events = paused ?? stream.events;
  const lines = useMemo(
    () => events.filter((event) => event.type === 'log').map(parseLine),
    [events],
  );
  const list = useRef<HTMLOListElement>(null);
  // biome-ignore lint/correctness/useExhaustiveDependencies: scroll whenever new lines render
  useEffect(() => {
    if (!paused && list.current) list.current.scrollTop = list.current.scrollHeight;
  }, [lines, paused]);

  const togglePause = () => {
    if (paused) return setPaused(undefined);
    receivedAtPause.current = received.current;
    setPaused(stream.events);
  };
  const buffered = paused ? received.current - receivedAtPause.current : 0;

  return (
    <section className="panel logs" aria-labelledby="logs-title">
      <header>
        <h2 id="logs-title">Live logs</h2>
        <ConnectionStatus stream={stream} />
      </header>
      <div className="toolbar">
        <label>
          Level
          <select
            aria-label="Level"
            value={level}
            onChange={(event) => setLevel(event.target.value as LogLevel)}
          >
            {LOG_LEVELS.map((name) => (
              <option key={name} value={name}>
                {name} and above
              </option>
            ))}
          </select>
        </label>
        <button type="button" className="secondary" onClick={togglePause}>
          {paused ? 'Resume' : 'Pause'}
        </button>
        <button
          type="button"
          className="secondary"
          title="The server ends every topic stream; clients resume with Last-Event-ID"
          onClick={() => void fetch('/api/debug/drop', { method: 'POST' })}
        >
          Drop connection
        </button>
        {paused && <span className="buffered">{buffered} new lines buffered</span>}
      </div>
      <ol className="log-lines" ref={list}>
        {lines.map((line, index) => {
          const reconnect = reconnects.find(
            (candidate) => candidate.afterId !== '' && candidate.afterId === line.id,
          );
          return (
            <Fragment key={line.id}>
              <li
                className={`log-line level-${line.level}`}
                data-testid="log-line"
                data-seq={line.seq}
              >
                <time>{new Date(line.time).toISOString().slice(11, 23)}</time>
                <span className="level">{line.level}</span>
                <span className="source">{line.source}</span>
                <span className="text">{line.message}</span>
              </li>
              {reconnect && index < lines.length - 1 && (
                <li className="divider" data-testid="log-reconnect">
                  ↻ reconnected: replayed {countReplayed(lines.slice(index + 1), reconnect)} missed
                  lines
                </li>
              )}
            </Fragment>
          );
        })}
      </ol>
      <StreamError stream={stream} />
    </section>
  );
}

type ParsedLine = LogLine & { id: string };

const parsed = new WeakMap<ServerSentEvent, ParsedLine>();

// Each event is parsed once, however many times the list renders.
function parseLine(event: ServerSentEvent): ParsedLine {
  let line = parsed.get(event);
  if (!line) {
    line = { ...(JSON.parse(event.data) as LogLine), id: event.id };
    parsed.set(event, line);
  }
  return line;
}

// Lines logged before the new connection opened were missed while disconnected: the hub
// replayed them. (Server time against browser time: good enough on one machine, for a demo.)
function countReplayed(after: ParsedLine[], reconnect: Reconnect): number {
  if (reconnect.openedAt === undefined) return 0;
  const openedAt = reconnect.openedAt;
  return after.filter((line) => line.time < openedAt).length;
}
