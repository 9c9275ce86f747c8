import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';

export type Row = Record<string, string>;

export function median(values: number[]): number {
  return quantile(values, 0.5);
}

/** Linear-interpolated quantile (q in [0, 1]) of `values`; NaN when empty. */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  const high = Math.ceil(position);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (position - low);
}

export function printTable(title: string, rows: Row[]): void {
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0]!);
  const widths = columns.map((column) =>
    Math.max(column.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: string[]) =>
    `| ${cells.map((cell, index) => cell.padEnd(widths[index]!)).join(' | ')} |`;
  console.log(`\n${title}\n`);
  console.log(line(columns));
  console.log(`|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`);
  for (const row of rows) console.log(line(columns.map((column) => row[column] ?? '')));
}

/** The facts of the machine and run that every results file carries. */
export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  v8: string;
  date: string;
  /** 1, 5 and 15 minute load averages when the section started: other work on the machine. */
  loadAverage: number[];
}

export function machine(): Machine {
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: availableParallelism(),
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${process.platform} ${release()}`,
    node: process.version,
    v8: process.versions.v8,
    date: new Date().toISOString(),
    loadAverage: loadavg().map((value) => Math.round(value * 100) / 100),
  };
}

/** Where results go: BENCH_OUT, or bench/results. */
export function resultsDir(): string {
  return process.env.BENCH_OUT ?? new URL('./results/', import.meta.url).pathname;
}

/** Writes `<results>/<name>.json` (the input of bench/chart.ts) and says where. */
export function writeResults(name: string, results: unknown): void {
  const dir = resultsDir();
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\n(results: ${file})`);
}

export function formatRatio(ratio: number): string {
  return Number.isFinite(ratio) ? ratio.toFixed(2) : 'n/a';
}

export function verdict(ratio: number, target: number, direction: 'at-least' | 'at-most'): string {
  const met = direction === 'at-least' ? ratio >= target : ratio <= target;
  // A ratio that rounds to the target but misses it (0.948 against 0.95) shows its third digit.
  const shown =
    !met && formatRatio(ratio) === formatRatio(target) ? ratio.toFixed(3) : formatRatio(ratio);
  return `${shown} (${met ? 'met' : 'missed'})`;
}
