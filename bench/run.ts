/**
 * `npm run bench`: every hot path side by side with the best alternatives from npm, as ratios.
 * BENCH_MB sets the size of each parser workload (default 32), BENCH_RUNS the runs per median.
 */
import { benchClient } from './client.ts';
import { benchEncoder } from './encoder.ts';
import { benchFanout } from './fanout.ts';
import { benchParser } from './parser.ts';

const targetBytes = Number(process.env.BENCH_MB ?? 32) * 1024 * 1024;
const runs = Number(process.env.BENCH_RUNS ?? 5);
const only = process.argv[2];

if (!only || only === 'parser') await benchParser({ targetBytes, runs });
if (!only || only === 'encoder') benchEncoder({ runs });
if (!only || only === 'client')
  await benchClient({
    runs: Math.min(runs, 3),
    events: Number(process.env.BENCH_EVENTS ?? 1_000_000),
  });
if (!only || only === 'fanout' || only === 'redis')
  await benchFanout({
    runs: Math.min(runs, 3),
    fanout: only !== 'redis',
    redis: only !== 'fanout',
  });
