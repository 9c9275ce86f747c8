/**
 * `npm run bench [section]`: every hot path side by side with the best alternatives from npm, as
 * ratios, each section also written as JSON to bench/results/ (BENCH_OUT), from which
 * `npm run bench:chart` draws docs/benchmarks.svg.
 *
 * Sections: parser (shared, fresh and huge-line modes: BENCH_PARSER_MODES), encoder, client,
 * fanout, redis, engines (the hub's engines side by side: bench/engines.ts). BENCH_MB sets the size of each decoder workload (default 16), BENCH_RUNS the
 * runs per median (default 11 for the decoder; the other sections take at most 5 or 3).
 */
import { benchClient } from './client.ts';
import { benchEncoder } from './encoder.ts';
import { benchEngines } from './engines.ts';
import { benchFanout } from './fanout.ts';
import { benchParser } from './parser.ts';

const SECTIONS = ['parser', 'encoder', 'client', 'fanout', 'redis', 'engines'];
const targetBytes = Number(process.env.BENCH_MB ?? 16) * 1024 * 1024;
const runs = Number(process.env.BENCH_RUNS ?? 11);
const only = process.argv[2];
if (only && !SECTIONS.includes(only))
  throw new TypeError(`unknown section ${only}; use one of ${SECTIONS.join(', ')}`);

if (!only || only === 'parser')
  await benchParser({
    targetBytes,
    runs,
    modes: (process.env.BENCH_PARSER_MODES ?? 'shared,fresh,huge-line').split(','),
  });
if (!only || only === 'encoder') benchEncoder({ runs: Math.min(runs, 5) });
if (!only || only === 'client')
  await benchClient({
    runs: Math.min(runs, 5),
    events: Number(process.env.BENCH_EVENTS ?? 1_000_000),
  });
if (!only || only === 'fanout' || only === 'redis')
  await benchFanout({
    runs: Math.min(runs, 3),
    fanout: only !== 'redis',
    redis: only !== 'fanout',
  });
if (!only || only === 'engines') await benchEngines();
