/**
 * Decoder throughput: ssekit's createParser side by side with eventsource-parser (behind a
 * streaming TextDecoder, since it takes strings), @microsoft/fetch-event-source's parser, and a
 * "limit" that only decodes UTF-8 and finds line ends (CR, LF, CRLF) without building events.
 */

import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { createParser as createEventsourceParser } from 'eventsource-parser';
import { createParser } from '../src/index.ts';
import { median, printTable, type Row } from './report.ts';
import { makeWorkload, split, WORKLOAD_NAMES } from './workloads.ts';

const require = createRequire(import.meta.url);
const fes = require('@microsoft/fetch-event-source/lib/cjs/parse.js') as {
  getLines(onLine: (line: Uint8Array, fieldLength: number) => void): (chunk: Uint8Array) => void;
  getMessages(
    onId: (id: string) => void,
    onRetry: (retry: number) => void,
    onMessage: (message: { data: string; event: string; id: string }) => void,
  ): (line: Uint8Array, fieldLength: number) => void;
};

type Runner = (chunks: Uint8Array[]) => number;

const runners: Record<string, Runner> = {
  ssekit(chunks) {
    let count = 0;
    const parser = createParser({ onEvent: () => void count++ });
    for (const chunk of chunks) parser.feed(chunk);
    parser.end();
    return count;
  },
  'eventsource-parser'(chunks) {
    let count = 0;
    const decoder = new TextDecoder();
    const parser = createEventsourceParser({ onEvent: () => void count++ });
    for (const chunk of chunks) parser.feed(decoder.decode(chunk, { stream: true }));
    parser.reset();
    return count;
  },
  'fetch-event-source'(chunks) {
    let count = 0;
    // It dispatches on every blank line, also after a comment: count blocks with data only.
    const onChunk = fes.getLines(
      fes.getMessages(
        () => {},
        () => {},
        (message) => {
          if (message.data !== '') count++;
        },
      ),
    );
    for (const chunk of chunks) onChunk(chunk);
    return count;
  },
  limit(chunks) {
    // Decode + find every line end, building nothing: the floor any text parser stands on.
    let lines = 0;
    let skipLF = false;
    const decoder = new TextDecoder();
    for (const chunk of chunks) {
      const text = decoder.decode(chunk, { stream: true });
      let position = skipLF && text.charCodeAt(0) === 10 ? 1 : 0;
      skipLF = false;
      let cr = text.indexOf('\r', position);
      for (;;) {
        const lf = text.indexOf('\n', position);
        if (cr !== -1 && (lf === -1 || cr < lf)) {
          position = text.charCodeAt(cr + 1) === 10 ? cr + 2 : cr + 1;
          if (cr + 1 === text.length) skipLF = true;
          cr = text.indexOf('\r', position);
        } else if (lf !== -1) {
          position = lf + 1;
        } else break;
        lines++;
      }
    }
    return lines;
  },
};

const CHUNK_SIZES = [1024, 16 * 1024, 64 * 1024];

export interface ParserJob {
  parser: string;
  workload: string;
  chunkSize: number;
  targetBytes: number;
  runs: number;
}

/** Times one parser on one workload and chunk size: the median of `runs`, after one warm-up. */
export function timeParser(job: ParserJob): number {
  const run = runners[job.parser];
  if (!run) throw new Error(`unknown parser ${job.parser}`);
  const workload = makeWorkload(job.workload, job.targetBytes);
  const chunks = split(workload.bytes, job.chunkSize);
  const samples: number[] = [];
  for (let index = 0; index <= job.runs; index++) {
    globalThis.gc?.();
    const start = performance.now();
    const count = run(chunks);
    if (index > 0) samples.push(performance.now() - start);
    if (job.parser !== 'limit' && count !== workload.events) {
      throw new Error(
        `${job.parser} dispatched ${count} events on ${workload.name}, expected ${workload.events}`,
      );
    }
  }
  return median(samples);
}

function timeInChildProcess(job: ParserJob): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = fork(new URL('./parser-worker.ts', import.meta.url), [JSON.stringify(job)], {
      execArgv: ['--expose-gc', '--import', 'tsx'],
    });
    child.once('message', (message) => resolve(message as number));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0)
        reject(new Error(`benchmark process for ${JSON.stringify(job)} exited with ${code}`));
    });
  });
}

/**
 * Every (parser, workload, chunk size) runs in a fresh process, one after the other. In one
 * process V8's optimisations depend on everything that ran before (which parser, which workload
 * shaped the feedback of shared builtins such as TextDecoder.decode and String indexOf), and the
 * numbers then say more about the order than about the parsers. A real client parses one kind of
 * stream; a fresh process per case is the closer picture.
 */
export async function benchParser(options: { targetBytes: number; runs: number }): Promise<void> {
  const rows: Row[] = [];
  for (const workload of WORKLOAD_NAMES) {
    for (const chunkSize of CHUNK_SIZES) {
      const times: Record<string, number> = {};
      for (const parser of Object.keys(runners)) {
        times[parser] = await timeInChildProcess({ parser, workload, chunkSize, ...options });
      }
      const ours = times.ssekit!;
      const { bytes, events } = sizeOf(workload, options.targetBytes);
      rows.push({
        workload,
        chunk: `${chunkSize / 1024} KB`,
        'ssekit MB/s': (bytes / 1e6 / (ours / 1000)).toFixed(0),
        'ssekit events/s': `${(((events / ours) * 1000) / 1e6).toFixed(2)} M`,
        'x eventsource-parser': (times['eventsource-parser']! / ours).toFixed(2),
        'x fetch-event-source': (times['fetch-event-source']! / ours).toFixed(2),
        'x limit': (times.limit! / ours).toFixed(2),
      });
    }
  }
  printTable(
    `Decoder, ${(options.targetBytes / 1048576).toFixed(0)} MiB per workload, median of ${options.runs}, each case in a fresh process: ratio = their time / ssekit time (above 1: ssekit is faster)`,
    rows,
  );
}

const sizes = new Map<string, { bytes: number; events: number }>();
function sizeOf(name: string, targetBytes: number): { bytes: number; events: number } {
  let size = sizes.get(name);
  if (!size) {
    const workload = makeWorkload(name, targetBytes);
    size = { bytes: workload.bytes.length, events: workload.events };
    sizes.set(name, size);
  }
  return size;
}
