/**
 * Decoder throughput under the conditions of real use, as ratios to eventsource-parser behind a
 * streaming TextDecoder, all measured side by side in the same run:
 *
 * - `shared` (the main table): every decoder in one process, as in any real app. Before timing,
 *   a correctness pass feeds every workload to every decoder in random 1-64 byte chunks (and to
 *   ssekit also as strings and through its EventStreamDecoder), checking every event's fields;
 *   then each case is timed in rounds that run the decoders one after the other, in an order
 *   that rotates from round to round, so that drift on a shared machine hits them all alike.
 * - `fresh`: each (decoder, workload, chunk size) alone in a fresh process: the best case.
 * - `huge-line`: one line of 16 to 64 MiB of multilingual text: time per byte must not grow
 *   with the line (linear, not quadratic).
 *
 * Chunk sizes are random around 1, 16 and 64 KiB (half to one and a half times), cut anywhere
 * (inside lines, CRLF pairs and multi-byte characters); every consumer reads `type`, `data` and
 * `id` of every event. Ratios are of median CPU times (the process's user + system time, so that
 * time spent waiting for a core on a shared machine does not count; wall-clock medians are in the
 * JSON too); the spread of the per-round ratios says how noisy the machine was.
 *
 * Environment: BENCH_MB (size of each workload, default 16), BENCH_RUNS (rounds per case,
 * default 11), BENCH_PARSER_MODES (default shared,fresh,huge-line), BENCH_HUGE_MB (default
 * 16,32,64), BENCH_SSEKIT=src (time src/ through tsx instead of the tsc build users run) or
 * BENCH_SSEKIT=<path to an index.ts or .js> (another version, to compare).
 */
import { fork } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildSsekit } from './fanout-measure.ts';
import { PARSERS, type Runner, type SsekitSource } from './parser-runners.ts';
import {
  formatRatio,
  machine,
  median,
  printTable,
  quantile,
  type Row,
  verdict,
  writeResults,
} from './report.ts';
import {
  chunksAround,
  HASH_SEED,
  hashEvent,
  makeHugeLine,
  makeWorkload,
  randomChunks,
  WORKLOAD_NAMES,
  type Workload,
} from './workloads.ts';

export const CHUNK_MEANS = [1024, 16 * 1024, 64 * 1024] as const;
/**
 * BENCH_WORKLOADS, BENCH_CHUNKS (mean sizes in bytes) and BENCH_PARSERS (the decoders timed after
 * the correctness pass) narrow a run down, for a quick look.
 */
const WORKLOADS = process.env.BENCH_WORKLOADS?.split(',') ?? WORKLOAD_NAMES;
const CHUNKS = process.env.BENCH_CHUNKS?.split(',').map(Number) ?? CHUNK_MEANS;
/** The ratio to eventsource-parser the decoder must reach on every case (issue 15). */
export const TARGET_VS_EVENTSOURCE_PARSER = 1.5;
/** The ratio to the decode-plus-line-scan limit on LLM tokens (issue 15). */
export const TARGET_VS_LIMIT = 1.0;
const CHECK_BYTES = 1024 * 1024;

export interface CaseResult {
  workload: string;
  /** Mean chunk size in bytes (sizes are random from half to one and a half of it). */
  chunk: number;
  bytes: number;
  events: number;
  /** CPU milliseconds (user + system of the process) per run, per decoder, in round order. */
  samples: Record<string, number[]>;
  /** Median CPU milliseconds per decoder: what the ratios are taken from. */
  medians: Record<string, number>;
  /** Median wall-clock milliseconds per decoder (inflated when the machine is busy). */
  wallMedians: Record<string, number>;
  /** Median time of each decoder / median time of ssekit (above 1: ssekit is faster). */
  ratios: Record<string, number>;
  /** The per-round ratio to eventsource-parser: 25th and 75th percentiles, minimum, maximum. */
  spread: { p25: number; p75: number; min: number; max: number };
}

export interface HugeLineResult {
  megabytes: number;
  chunk: number;
  /** Nanoseconds per byte, per decoder (median of the runs). */
  nsPerByte: Record<string, number>;
}

export interface ParserBenchOptions {
  targetBytes: number;
  runs: number;
  modes?: readonly string[];
}

export async function benchParser(options: ParserBenchOptions): Promise<void> {
  const modes = options.modes ?? ['shared', 'fresh', 'huge-line'];
  const build = ssekitBuild(process.env.BENCH_SSEKIT);
  // Ctrl-C still removes the build (its 'exit' handler runs on process.exit, not on a signal).
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => process.exit(130));
  const ssekit: SsekitSource = { entry: build.entry };
  const results: Record<string, unknown> = { machine: machine(), ssekit: build.from, ...options };
  try {
    if (modes.includes('shared')) results.shared = await sharedMode(ssekit, options);
    if (modes.includes('fresh')) results.fresh = await freshMode(ssekit, options);
    if (modes.includes('huge-line')) results.hugeLine = await hugeLineMode(ssekit, options.runs);
  } finally {
    build.remove();
  }
  results.loadAverageAfter = machine().loadAverage;
  writeResults('parser', results);
}

/**
 * ssekit as users run it (its tsc build), or src/ through tsx (BENCH_SSEKIT=src), or any other
 * entry point (BENCH_SSEKIT=<path to an index.ts or index.js>, to compare two versions).
 */
function ssekitBuild(choice: string | undefined): { entry: string; from: string; remove(): void } {
  if (choice && choice !== 'src') {
    return { entry: pathToFileURL(resolve(choice)).href, from: choice, remove() {} };
  }
  const build = buildSsekit(choice === 'src');
  return { entry: `${build.base}index${build.ext}`, from: build.from, remove: build.remove };
}

/**
 * Loads a decoder's runner from its own instance of bench/parser-runners.ts (the URL's query
 * makes it a separate module), as if each decoder's benchmark were a file of its own: consumer
 * code shared by all decoders would see every decoder's strings, go megamorphic and add the same
 * large cost to each, which measures the consumer rather than the decoders. The decoders
 * themselves, and the Web APIs they call, are still shared by the whole process.
 */
async function loadRunner(name: string, ssekit: SsekitSource, unbounded = false): Promise<Runner> {
  const own = (await import(`./parser-runners.ts?${name}`)) as typeof import('./parser-runners.ts');
  return own.loadRunner(name, ssekit, unbounded);
}

/** Every decoder in this process: the correctness pass, then every case timed in rounds. */
async function sharedMode(ssekit: SsekitSource, options: ParserBenchOptions) {
  const runners = new Map<string, Runner>();
  for (const name of PARSERS) runners.set(name, await loadRunner(name, ssekit));
  const checked = await correctnessPass(runners, ssekit);
  const timed = process.env.BENCH_PARSERS?.split(',');
  if (timed) for (const name of runners.keys()) if (!timed.includes(name)) runners.delete(name);
  if (process.env.BENCH_TRACE_MARK) console.error('=== TIMING START');
  const cases: CaseResult[] = [];
  for (const name of WORKLOADS) {
    const workload = makeWorkload(name, options.targetBytes);
    const lines = countLines(workload.bytes);
    for (const mean of CHUNKS) {
      progress(`decoder, shared process: ${name}, ~${mean / 1024} KiB`);
      const chunks = chunksAround(workload.bytes, mean);
      const samples = await timeRounds(runners, workload, lines, chunks, options.runs);
      cases.push(caseResult(workload, mean, samples));
    }
  }
  progress('');
  printCases(
    `Decoder, all decoders in one process after a correctness pass (${checked}), ${mb(options.targetBytes)} per workload, median of ${options.runs} rounds`,
    cases,
  );
  return { checked, cases };
}

/**
 * Feeds a 1 MiB version of every workload to every decoder in random chunks of 1 to 64 bytes and
 * checks every event. ssekit is also fed strings and run through its EventStreamDecoder, as
 * applications do: the same code then sees strings and bytes, calls and streams.
 */
async function correctnessPass(runners: Map<string, Runner>, ssekit: SsekitSource) {
  // ssekit, and the other version it is compared with: fed strings and streams too.
  const versions = [ssekit.entry];
  if (runners.has('baseline'))
    versions.push(pathToFileURL(resolve(process.env.BENCH_BASELINE!)).href);
  let cases = 0;
  for (const name of WORKLOAD_NAMES) {
    progress(`decoder, correctness pass: ${name}`);
    const workload = makeWorkload(name, CHECK_BYTES);
    const chunks = randomChunks(workload.bytes, 1, 64, 99);
    for (const [parser, runner] of runners) {
      const result = runner.check(chunks);
      if (runner.checks === 'fields') expectSame(parser, workload, result);
      else if (runner.checks === 'count' && result.events !== workload.events)
        throw new Error(`${parser} dispatched ${result.events} events on ${name}`);
      else if (runner.checks === 'lines' && result.events !== countLines(workload.bytes))
        throw new Error(`${parser} found ${result.events} lines on ${name}`);
      cases++;
    }
    for (const entry of versions) cases += await checkStringsAndStreams(entry, workload, chunks);
  }
  return `${cases} checks, 1 MiB each in 1-64 byte chunks`;
}

/** ssekit fed strings from a streaming TextDecoder, and through its EventStreamDecoder. */
async function checkStringsAndStreams(
  entry: string,
  workload: Workload,
  chunks: readonly Uint8Array[],
): Promise<number> {
  const { createParser, EventStreamDecoder } = (await import(
    entry
  )) as typeof import('../src/index.ts');
  const strings = { events: 0, hash: HASH_SEED };
  const parser = createParser({ onEvent: (event) => fold(strings, event) });
  const decoder = new TextDecoder();
  for (const chunk of chunks) parser.feed(decoder.decode(chunk, { stream: true }));
  parser.end();
  expectSame(`${entry} (strings)`, workload, strings);
  const streamed = { events: 0, hash: HASH_SEED };
  let index = 0;
  const source = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (index < chunks.length) controller.enqueue(chunks[index++]!);
      else controller.close();
    },
  });
  const reader = source.pipeThrough(new EventStreamDecoder()).getReader();
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    fold(streamed, read.value);
  }
  expectSame(`${entry} (EventStreamDecoder)`, workload, streamed);
  return 2;
}

function fold(
  into: { events: number; hash: number },
  event: { type: string; data: string; id: string },
): void {
  into.events++;
  into.hash = hashEvent(into.hash, event.type, event.data, event.id);
}

function expectSame(
  parser: string,
  workload: Workload,
  result: { events: number; hash: number },
): void {
  if (result.events !== workload.events || result.hash !== workload.hash) {
    throw new Error(
      `${parser} is wrong on ${workload.name}: ${result.events} events (hash ${result.hash}), expected ${workload.events} (hash ${workload.hash})`,
    );
  }
}

/** Line ends (CR, LF, CRLF) in a stream: what the limit runner counts. */
function countLines(bytes: Uint8Array): number {
  let lines = 0;
  for (let index = 0; index < bytes.length; index++) {
    const byte = bytes[index];
    if (byte === 10) lines++;
    else if (byte === 13) {
      lines++;
      if (bytes[index + 1] === 10) index++;
    }
  }
  return lines;
}

export interface Samples {
  /** CPU milliseconds per run, per decoder. */
  cpu: Record<string, number[]>;
  /** Wall-clock milliseconds per run, per decoder. */
  wall: Record<string, number[]>;
}

/**
 * One warm-up round, then `runs` rounds; each round runs every decoder once, the order rotating
 * from round to round. Every run's tally is checked. Each run is timed in CPU time of the
 * process (user + system, which includes GC threads) and in wall-clock time: on a machine shared
 * with other work, wall-clock time also counts the time the process waited for a core.
 */
async function timeRounds(
  runners: Map<string, Runner>,
  workload: Workload,
  lines: number,
  chunks: readonly Uint8Array[],
  runs: number,
): Promise<Samples> {
  const names = [...runners.keys()];
  const cpu: Record<string, number[]> = Object.fromEntries(names.map((name) => [name, []]));
  const wall: Record<string, number[]> = Object.fromEntries(names.map((name) => [name, []]));
  for (let round = -1; round < runs; round++) {
    const shift = (round + 1) % names.length;
    const order = [...names.slice(shift), ...names.slice(0, shift)];
    for (const name of order) {
      await settle();
      const startCpu = process.cpuUsage();
      const start = performance.now();
      const tally = runners.get(name)!.time(chunks);
      const elapsed = performance.now() - start;
      const used = process.cpuUsage(startCpu);
      checkTally(name, runners.get(name)!, tally, workload, lines);
      if (round >= 0) {
        cpu[name]!.push((used.user + used.system) / 1000);
        wall[name]!.push(elapsed);
      }
    }
  }
  return { cpu, wall };
}

/**
 * A full GC, then a wait until the process is idle: V8 sweeps (and may mark) on background
 * threads after a GC, and that CPU time would otherwise land on the next run, whichever decoder
 * it is (after fetch-event-source's runs, which leave the most garbage, it doubled the next run).
 */
async function settle(): Promise<void> {
  globalThis.gc?.();
  for (let wait = 0; wait < 40; wait++) {
    const before = process.cpuUsage();
    await new Promise((resolve) => setTimeout(resolve, 5));
    const used = process.cpuUsage(before);
    if (used.user + used.system < 500) return; // under 0.5 ms of CPU in 5 ms: quiet
  }
}

function checkTally(
  name: string,
  runner: Runner,
  tally: { events: number; size: number },
  workload: Workload,
  lines: number,
): void {
  const ok =
    runner.checks === 'fields'
      ? tally.events === workload.events && tally.size === workload.size
      : runner.checks === 'count'
        ? tally.events === workload.events
        : tally.events === lines;
  if (!ok) {
    throw new Error(
      `${name} on ${workload.name}: ${tally.events} events / ${tally.size} characters, expected ${runner.checks === 'lines' ? `${lines} lines` : `${workload.events} / ${workload.size}`}`,
    );
  }
}

function caseResult(workload: Workload, chunk: number, timed: Samples): CaseResult {
  const samples = timed.cpu;
  const medians = Object.fromEntries(
    Object.entries(samples).map(([name, values]) => [name, median(values)]),
  );
  const wallMedians = Object.fromEntries(
    Object.entries(timed.wall).map(([name, values]) => [name, median(values)]),
  );
  const ours = medians.ssekit!;
  const ratios = Object.fromEntries(
    Object.entries(medians).map(([name, value]) => [name, value / ours]),
  );
  const perRound = (samples['eventsource-parser'] ?? []).map(
    (value, index) => value / samples.ssekit![index]!,
  );
  return {
    workload: workload.name,
    chunk,
    bytes: workload.bytes.length,
    events: workload.events,
    samples,
    medians,
    wallMedians,
    ratios,
    spread: {
      p25: quantile(perRound, 0.25),
      p75: quantile(perRound, 0.75),
      min: Math.min(...perRound),
      max: Math.max(...perRound),
    },
  };
}

function printCases(title: string, cases: CaseResult[]): void {
  printTable(
    `${title}: ratio = their CPU time / ssekit CPU time (above 1: ssekit is faster); "p25-p75" is the spread of the per-round ratio to eventsource-parser`,
    cases.map((result) => {
      const row: Row = {
        workload: result.workload,
        chunk: `~${result.chunk / 1024} KiB`,
        'ssekit MB/s': (result.bytes / 1e6 / (result.medians.ssekit! / 1000)).toFixed(0),
        'ssekit Mevents/s': (result.events / 1e3 / result.medians.ssekit!).toFixed(2),
        [`x eventsource-parser (>= ${TARGET_VS_EVENTSOURCE_PARSER})`]: verdict(
          result.ratios['eventsource-parser']!,
          TARGET_VS_EVENTSOURCE_PARSER,
          'at-least',
        ),
        'p25-p75': Number.isFinite(result.spread.p25)
          ? `${result.spread.p25.toFixed(2)}-${result.spread.p75.toFixed(2)}`
          : '',
      };
      if (result.ratios.baseline !== undefined)
        row['x baseline'] = formatRatio(result.ratios.baseline);
      if (result.ratios['fetch-event-source'] !== undefined)
        row['x fetch-event-source'] = formatRatio(result.ratios['fetch-event-source']);
      if (result.ratios.limit !== undefined)
        row['x limit'] = result.workload.startsWith('llm-tokens')
          ? verdict(result.ratios.limit, TARGET_VS_LIMIT, 'at-least')
          : formatRatio(result.ratios.limit);
      return row;
    }),
  );
}

export interface FreshJob {
  parser: string;
  workload: string;
  chunk: number;
  targetBytes: number;
  runs: number;
  entry: string;
}

/** In a fresh process (bench/parser-worker.ts): one decoder, one workload, one chunk size. */
export async function timeFresh(job: FreshJob): Promise<Samples> {
  const runner = await loadRunner(job.parser, { entry: job.entry });
  const workload = makeWorkload(job.workload, job.targetBytes);
  const lines = countLines(workload.bytes);
  const chunks = chunksAround(workload.bytes, job.chunk);
  return await timeRounds(new Map([[job.parser, runner]]), workload, lines, chunks, job.runs);
}

function runFresh(job: FreshJob): Promise<Samples> {
  return new Promise((resolve, reject) => {
    const child = fork(new URL('./parser-worker.ts', import.meta.url), [JSON.stringify(job)], {
      execArgv: ['--expose-gc', '--import', 'tsx'],
    });
    child.once('message', (message) => resolve(message as Samples));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`fresh process for ${JSON.stringify(job)} exited ${code}`));
    });
  });
}

/**
 * Each (decoder, workload, chunk size) alone in a fresh process; the decoders of one case run one
 * after the other, so their ratio is still taken within minutes of each other.
 */
async function freshMode(ssekit: SsekitSource, options: ParserBenchOptions) {
  const parsers = ['ssekit', 'eventsource-parser', 'limit'];
  const runs = Math.max(5, Math.ceil(options.runs / 2));
  const cases: CaseResult[] = [];
  for (const name of WORKLOADS) {
    const workload = makeWorkload(name, options.targetBytes);
    for (const chunk of CHUNKS) {
      const samples: Samples = { cpu: {}, wall: {} };
      for (const parser of parsers) {
        progress(`decoder, fresh processes: ${name}, ~${chunk / 1024} KiB, ${parser}`);
        const result = await runFresh({
          parser,
          workload: name,
          chunk,
          targetBytes: options.targetBytes,
          runs,
          entry: ssekit.entry,
        });
        samples.cpu[parser] = result.cpu[parser]!;
        samples.wall[parser] = result.wall[parser]!;
      }
      cases.push(caseResult(workload, chunk, samples));
    }
  }
  progress('');
  printCases(
    `Decoder, each decoder alone in a fresh process (no other decoder loaded, no correctness pass), median of ${runs} runs`,
    cases,
  );
  return { runs, cases };
}

/** One huge line, at growing sizes: nanoseconds per byte must stay flat. */
async function hugeLineMode(ssekit: SsekitSource, runs: number) {
  const sizes = (process.env.BENCH_HUGE_MB ?? '16,32,64').split(',').map(Number);
  const parsers = ['ssekit', 'eventsource-parser', 'limit'];
  const runners = new Map<string, Runner>();
  for (const name of parsers) runners.set(name, await loadRunner(name, ssekit, true));
  const results: HugeLineResult[] = [];
  for (const megabytes of sizes) {
    const workload = makeHugeLine(megabytes);
    const lines = countLines(workload.bytes);
    for (const chunk of [CHUNK_MEANS[0], CHUNK_MEANS[2]]) {
      progress(`decoder, huge line: ${megabytes} MiB, ~${chunk / 1024} KiB`);
      const chunks = chunksAround(workload.bytes, chunk);
      const samples = await timeRounds(runners, workload, lines, chunks, Math.min(runs, 5));
      const nsPerByte = Object.fromEntries(
        parsers.map((name) => [name, (median(samples.cpu[name]!) * 1e6) / workload.bytes.length]),
      );
      results.push({ megabytes, chunk, nsPerByte });
    }
  }
  progress('');
  const rows: Row[] = [];
  for (const chunk of [CHUNK_MEANS[0], CHUNK_MEANS[2]]) {
    const of = results.filter((result) => result.chunk === chunk);
    const first = of[0]!;
    const last = of[of.length - 1]!;
    for (const parser of parsers) {
      const row: Row = { decoder: parser, chunk: `~${chunk / 1024} KiB` };
      for (const result of of)
        row[`${result.megabytes} MiB`] = result.nsPerByte[parser]!.toFixed(2);
      row[`growth ${last.megabytes}/${first.megabytes} MiB (linear: about 1)`] = (
        last.nsPerByte[parser]! / first.nsPerByte[parser]!
      ).toFixed(2);
      rows.push(row);
    }
  }
  printTable(
    `Decoder, one line of ${sizes.join('/')} MiB of multilingual text: CPU nanoseconds per byte (flat = linear time)`,
    rows,
  );
  return results;
}

function mb(bytes: number): string {
  return `${(bytes / 1048576).toFixed(0)} MiB`;
}

function progress(text: string): void {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${text}`);
}
