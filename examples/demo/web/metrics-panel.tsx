import { useEffect, useMemo } from 'react';
import { useEventStream } from '../../../src/react/index.ts';
import type { MetricsSample } from '../shared.ts';
import { ConnectionStatus, StreamError } from './connection-status.tsx';
import { LineChart } from './line-chart.tsx';

/** Two minutes of samples at one per second. */
const KEPT_SAMPLES = 120;

/**
 * Metrics dashboard: one sample per second on a topic. The server coalesces samples for a client
 * that falls behind (latest value wins), so a slow tab jumps to now instead of replaying a backlog.
 */
export function MetricsPanel() {
  const stream = useEventStream('/api/metrics', { maxEvents: KEPT_SAMPLES });
  const { start, stop } = stream;
  useEffect(() => {
    start();
    return stop;
  }, [start, stop]);

  const series = useMemo(() => {
    const samples = stream.events
      .filter((event) => event.type === 'metrics')
      .map((event) => JSON.parse(event.data) as MetricsSample);
    return {
      latest: samples.at(-1),
      time: samples.map((sample) => sample.time / 1000),
      cpu: samples.map((sample) => sample.cpu),
      memory: samples.map((sample) => sample.memoryMb),
      connections: samples.map((sample) => sample.connections),
    };
  }, [stream.events]);
  const { latest } = series;

  return (
    <section className="panel metrics" aria-labelledby="metrics-title">
      <header>
        <h2 id="metrics-title">Metrics</h2>
        <ConnectionStatus stream={stream} />
      </header>
      <div className="metric">
        <h3>
          CPU-like load <strong>{latest ? `${latest.cpu.toFixed(1)} %` : '–'}</strong>
        </h3>
        <LineChart label="CPU %" x={series.time} y={series.cpu} color="#2563eb" range={[0, 100]} />
      </div>
      <div className="metric">
        <h3>
          Server heap <strong>{latest ? `${latest.memoryMb.toFixed(1)} MiB` : '–'}</strong>
        </h3>
        <LineChart label="Heap MiB" x={series.time} y={series.memory} color="#7c3aed" />
      </div>
      <div className="metric">
        <h3>
          Open event streams <strong>{latest ? latest.connections : '–'}</strong>
        </h3>
        <LineChart
          label="Connections"
          x={series.time}
          y={series.connections}
          color="#059669"
          range={[0, 5]}
        />
      </div>
      <StreamError stream={stream} />
    </section>
  );
}
