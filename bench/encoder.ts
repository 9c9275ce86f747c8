/**
 * Encoder throughput: encodeEvent (validating, multi-line safe) against the hand-written template
 * literal everyone uses (`data: ${json}\n\n`, which is unsafe with line breaks): the cost of safety.
 */
import { encodeEvent } from '../src/index.ts';
import { median, printTable, type Row } from './report.ts';

export function benchEncoder(options: { runs: number }): void {
  const count = 1_000_000;
  const payloads = Array.from({ length: 1024 }, (_, index) =>
    JSON.stringify({ text: `tok${index % 97}`, done: false }),
  );
  const multiline = Array.from(
    { length: 1024 },
    (_, index) => `line ${index}\nline two\nline three`,
  );
  const cases: Record<string, Record<string, (index: number) => string>> = {
    'llm-tokens': {
      ssekit: (index) => encodeEvent({ data: payloads[index & 1023]!, id: String(index) }),
      template: (index) => `id: ${index}\ndata: ${payloads[index & 1023]!}\n\n`,
    },
    'multiline-3': {
      ssekit: (index) => encodeEvent({ data: multiline[index & 1023]! }),
      template: (index) => `data: ${multiline[index & 1023]!.split('\n').join('\ndata: ')}\n\n`,
    },
  };
  const rows: Row[] = [];
  const encoder = new TextEncoder();
  for (const [workload, variants] of Object.entries(cases)) {
    const times: Record<string, number> = {};
    for (const [name, encode] of Object.entries(variants)) {
      const samples: number[] = [];
      for (let run = 0; run < options.runs; run++) {
        let bytes = 0;
        const start = performance.now();
        for (let index = 0; index < count; index++) bytes += encoder.encode(encode(index)).length;
        samples.push(performance.now() - start);
        if (bytes === 0) throw new Error('nothing encoded');
      }
      times[name] = median(samples);
    }
    rows.push({
      workload,
      'ssekit events/s': `${(count / times.ssekit! / 1000).toFixed(2)} M`,
      'x template literal': (times.template! / times.ssekit!).toFixed(2),
    });
  }
  printTable('Encoder (to UTF-8 bytes): encodeEvent vs a hand-written template literal', rows);
}
