/**
 * `npm run bench:chart`: draws docs/benchmarks.svg from the JSON that `npm run bench` writes to
 * bench/results/ (or BENCH_OUT): the decoder's ratio to eventsource-parser for every workload and
 * chunk size (before and after, when bench/results/parser-before.json is there), fan-out against
 * raw node:http, and the client against a hand-written loop. Plain SVG, no chart service.
 *
 * Usage: node --import tsx bench/chart.ts [results dir] [output.svg]
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resultsDir } from './report.ts';

interface ParserCase {
  workload: string;
  chunk: number;
  ratios: Record<string, number>;
}

interface ParserResults {
  machine: { cpu: string; cores: number; node: string; date: string };
  /** The version timed side by side (BENCH_BASELINE), if any. */
  baseline?: string;
  shared?: { cases: ParserCase[] };
}

interface FanoutEntry {
  server: string;
  n: number;
  eventsPerSecond: number;
  latencyMs: { p50: number; p99: number };
  heapPerConnection: number;
  /** node (in `results`), bun or deno (in `runtimeResults`): compared with its own raw. */
  runtime?: string;
}

interface FanoutResults {
  results: FanoutEntry[];
  runtimeResults?: FanoutEntry[];
}

interface ClientResults {
  events: number;
  speedVsHandWritten: Record<string, number>;
  /** Per workload (tokens, openai), when the run had several. */
  workloads?: Record<string, { speedVsHandWritten: Record<string, number> }>;
}

const WIDTH = 960;
const LEFT = 250;
const BAR = 9;
const COLORS = { after: '#2563eb', before: '#cbd5e1', target: '#dc2626', text: '#111827' };

function readJson<T>(file: string): T | undefined {
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as T) : undefined;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** One panel of horizontal bars against a ratio axis, with a target line. */
interface Panel {
  title: string;
  note: string;
  max: number;
  target: number;
  /** 'at-least' draws the target as a minimum; 'at-most' as a maximum. */
  direction: 'at-least' | 'at-most';
  rows: Array<{ label: string; value: number; before?: number }>;
}

function drawPanel(panel: Panel, top: number): { svg: string; height: number } {
  const plot = WIDTH - LEFT - 60;
  const x = (value: number) => LEFT + (Math.min(value, panel.max) / panel.max) * plot;
  const rowHeight = panel.rows.some((row) => row.before !== undefined) ? 2 * BAR + 6 : BAR + 8;
  const parts: string[] = [
    `<text x="16" y="${top + 18}" font-size="15" font-weight="bold">${escapeXml(panel.title)}</text>`,
    `<text x="16" y="${top + 36}" font-size="11" fill="#4b5563">${escapeXml(panel.note)}</text>`,
  ];
  const axisTop = top + 58;
  const height = panel.rows.length * rowHeight;
  for (let tick = 0; tick <= panel.max; tick += panel.max > 4 ? 1 : 0.5) {
    parts.push(
      `<line x1="${x(tick)}" y1="${axisTop}" x2="${x(tick)}" y2="${axisTop + height}" stroke="#e5e7eb"/>`,
      `<text x="${x(tick)}" y="${axisTop + height + 14}" font-size="10" text-anchor="middle" fill="#6b7280">${tick}x</text>`,
    );
  }
  panel.rows.forEach((row, index) => {
    const y = axisTop + index * rowHeight;
    parts.push(
      `<text x="${LEFT - 8}" y="${y + BAR}" font-size="11" text-anchor="end">${escapeXml(row.label)}</text>`,
    );
    let barY = y;
    if (row.before !== undefined) {
      parts.push(
        `<rect x="${LEFT}" y="${barY}" width="${x(row.before) - LEFT}" height="${BAR}" fill="${COLORS.before}"/>`,
        `<text x="${x(row.before) + 4}" y="${barY + BAR - 1}" font-size="9" fill="#6b7280">${row.before.toFixed(2)}</text>`,
      );
      barY += BAR + 2;
    }
    const met =
      panel.direction === 'at-least' ? row.value >= panel.target : row.value <= panel.target;
    parts.push(
      `<rect x="${LEFT}" y="${barY}" width="${Math.max(1, x(row.value) - LEFT)}" height="${BAR}" fill="${met ? COLORS.after : '#f59e0b'}"/>`,
      `<text x="${x(row.value) + 4}" y="${barY + BAR - 1}" font-size="9">${row.value.toFixed(2)}${row.value > panel.max ? ' →' : ''}</text>`,
    );
  });
  parts.push(
    `<line x1="${x(panel.target)}" y1="${axisTop - 4}" x2="${x(panel.target)}" y2="${axisTop + height}" stroke="${COLORS.target}" stroke-dasharray="4 3"/>`,
    `<text x="${x(panel.target) + 3}" y="${axisTop - 6}" font-size="10" fill="${COLORS.target}">target ${panel.direction === 'at-least' ? '≥' : '≤'} ${panel.target}</text>`,
  );
  return { svg: parts.join('\n'), height: height + 88 };
}

function chunkLabel(chunk: number): string {
  return `~${chunk / 1024} KiB`;
}

export function buildChart(dir: string): string {
  const parser = readJson<ParserResults>(join(dir, 'parser.json'));
  const before = readJson<ParserResults>(join(dir, 'parser-before.json'));
  const fanout = readJson<FanoutResults>(join(dir, 'fanout.json'));
  const client = readJson<ClientResults>(join(dir, 'client.json'));
  const panels: Panel[] = [];
  if (parser?.shared) {
    // Before: from parser-before.json, else from the baseline timed in the same run
    // (BENCH_BASELINE): its speed relative to eventsource-parser is theirs over its own.
    const beforeOf = (item: ParserCase) => {
      const saved = before?.shared?.cases.find(
        (other) => other.workload === item.workload && other.chunk === item.chunk,
      )?.ratios['eventsource-parser'];
      const esp = item.ratios['eventsource-parser'];
      const base = item.ratios.baseline;
      return saved ?? (esp !== undefined && base !== undefined ? esp / base : undefined);
    };
    const hasBefore = Boolean(before) || parser.shared.cases.some((item) => item.ratios.baseline);
    panels.push({
      title: 'Decoder: speed relative to eventsource-parser behind a streaming TextDecoder',
      note: `All decoders in one process, after a 1-64 byte correctness pass; random chunk sizes. ${hasBefore ? `Grey: ${parser.baseline ?? 'before'}; ` : ''}blue: now. ${parser.machine.cpu}, ${parser.machine.cores} cores, Node ${parser.machine.node}, ${parser.machine.date.slice(0, 10)}.`,
      max: 8,
      target: 1.5,
      direction: 'at-least',
      rows: parser.shared.cases.map((item) => {
        const previous = beforeOf(item);
        return {
          label: `${item.workload} ${chunkLabel(item.chunk)}`,
          value: item.ratios['eventsource-parser'] ?? 0,
          ...(previous === undefined ? {} : { before: previous }),
        };
      }),
    });
    panels.push({
      title: 'Decoder: speed relative to the decode-plus-line-scan limit',
      note: 'The limit decodes with a streaming TextDecoder and finds every line end, building nothing.',
      max: 3,
      target: 1,
      direction: 'at-least',
      rows: parser.shared.cases
        .filter((item) => item.workload.startsWith('llm-tokens'))
        .map((item) => ({
          label: `${item.workload} ${chunkLabel(item.chunk)}`,
          value: item.ratios.limit ?? 0,
        })),
    });
  }
  if (fanout) {
    const all = [...fanout.results, ...(fanout.runtimeResults ?? [])];
    const runtimeOf = (item: FanoutEntry) => item.runtime ?? 'node';
    const raw = (item: FanoutEntry) =>
      all.find(
        (other) =>
          other.server === 'raw' && other.n === item.n && runtimeOf(other) === runtimeOf(item),
      );
    const ours = all.filter((item) => item.server === 'ssekit');
    const name = (item: FanoutEntry) => `${runtimeOf(item)} N=${item.n}`;
    // One bar per ssekit entry: `measure` of ssekit over `measure` of its runtime's raw.
    const ratios = (what: string, measure: (item: FanoutEntry) => number) =>
      ours.flatMap((item) => {
        const baseline = raw(item);
        return baseline
          ? [{ label: `${name(item)} ${what}`, value: measure(item) / measure(baseline) }]
          : [];
      });
    panels.push({
      title: "Fan-out (ssekit hub): delivered events/s relative to each runtime's raw server",
      note: 'One topic broadcast to N connections over loopback, server and clients in fresh processes; raw: node:http res.write, Bun.serve / Deno.serve with a ReadableStream.',
      max: 2,
      target: 0.95,
      direction: 'at-least',
      rows: ratios('events/s', (item) => item.eventsPerSecond),
    });
    panels.push({
      title: 'Fan-out (ssekit hub): p99 delivery latency relative to raw',
      note: 'Time for one broadcast to reach the last of N clients. Lower is better.',
      max: 2,
      target: 1.2,
      direction: 'at-most',
      rows: ratios('p99', (item) => item.latencyMs.p99),
    });
    panels.push({
      title: 'Fan-out (ssekit hub): heap per idle connection relative to raw',
      note: "After GC, (heap with N idle connections - heap with none) / N, each runtime's own heap figure. Lower is better.",
      max: 2,
      target: 1.1,
      direction: 'at-most',
      rows: ratios('heap', (item) => item.heapPerConnection),
    });
  }
  if (client) {
    const workloads = client.workloads ?? { tokens: client };
    panels.push({
      title: 'Client end to end: speed relative to fetch + reader + eventsource-parser by hand',
      note: `${client.events.toLocaleString('en')} events over loopback per workload (tokens: short JSON events with ids; openai: real Chat Completions chunks), each client in a fresh process; CPU time.`,
      max: 1.5,
      target: 0.9,
      direction: 'at-least',
      rows: Object.entries(workloads).flatMap(([workload, results]) =>
        Object.entries(results.speedVsHandWritten)
          .filter(([name]) => name !== 'hand-written')
          .map(([name, value]) => ({ label: `${workload}: ${name}`, value })),
      ),
    });
  }
  let top = 10;
  const bodies: string[] = [];
  for (const panel of panels) {
    const { svg, height } = drawPanel(panel, top);
    bodies.push(svg);
    top += height + 16;
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${top}" viewBox="0 0 ${WIDTH} ${top}" font-family="system-ui, sans-serif" fill="${COLORS.text}">`,
    `<title>ssekit benchmarks: ${escapeXml(panels.map((panel) => panel.title).join('; '))}</title>`,
    `<rect width="${WIDTH}" height="${top}" fill="#ffffff"/>`,
    ...bodies,
    '</svg>',
    '',
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = process.argv[2] ?? resultsDir();
  const output = process.argv[3] ?? new URL('../docs/benchmarks.svg', import.meta.url).pathname;
  writeFileSync(output, buildChart(dir));
  console.log(`wrote ${output} from ${dir}`);
}
