import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

/** Options of {@link LineChart}. */
export interface LineChartProps {
  label: string;
  /** Seconds since the epoch. */
  x: number[];
  y: number[];
  color: string;
  /** The least the y axis shows (it grows with the data): [0, 100] for percentages. */
  range?: [number, number];
  height?: number;
}

/** A live line chart: uPlot is created once, and only its data changes. */
export function LineChart({ label, x, y, color, range, height = 110 }: LineChartProps) {
  const container = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | null>(null);
  const data = useRef<uPlot.AlignedData>([x, y]);
  data.current = [x, y];

  const [low, high] = range ?? [];
  useEffect(() => {
    const element = container.current;
    if (!element) return;
    const plot = new uPlot(
      {
        width: element.clientWidth,
        height,
        legend: { show: false },
        cursor: { show: false },
        scales: {
          x: { time: true },
          y:
            low === undefined || high === undefined
              ? {}
              : { range: (_, min, max) => [Math.min(low, min), Math.max(high, max)] },
        },
        axes: [
          {
            stroke: '#6b7280',
            grid: { stroke: '#eef0f3' },
            ticks: { show: false },
            space: 70,
            values: (_, splits) => splits.map(clockTime),
          },
          { stroke: '#6b7280', grid: { stroke: '#eef0f3' }, ticks: { show: false }, size: 44 },
        ],
        series: [
          {},
          { label, stroke: color, width: 2, fill: `${color}1f`, points: { show: false } },
        ],
      },
      data.current,
      element,
    );
    chart.current = plot;
    const observer = new ResizeObserver(() => plot.setSize({ width: element.clientWidth, height }));
    observer.observe(element);
    return () => {
      observer.disconnect();
      plot.destroy();
      chart.current = null;
    };
  }, [label, color, low, high, height]);

  useEffect(() => {
    chart.current?.setData([x, y]);
  }, [x, y]);

  return <div ref={container} className="chart" data-points={x.length} />;
}

function clockTime(seconds: number): string {
  return new Date(seconds * 1000).toLocaleTimeString([], { hour12: false });
}
