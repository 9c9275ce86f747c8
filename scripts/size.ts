/**
 * `npm run size`: the size budget, checked in CI. Each case bundles one import from the packed
 * package with esbuild (minified, ES2022, browser) and gzips it (level 9); the budgets are in
 * bytes (1 kB = 1000 B). The parser is measured against `eventsource-parser` in the same run, and
 * fetchEventStream is printed next to `@microsoft/fetch-event-source`.
 *
 * Tree-shaking: each case also lists package files that must not reach its bundle (esbuild's
 * metafile says which inputs kept bytes in the output): importing one entry pulls in only what it
 * uses.
 *
 * Where the bytes go: `--breakdown` prints, for each budgeted case (and any case over its budget),
 * what each package file costs in it: the gzipped bundle minus the gzipped bundle without that
 * file's code (the marginal cost, which is what removing the file would save), and its minified
 * size.
 *
 * Exits 1 when a budget or a tree-shaking rule fails; `--json` prints the numbers as JSON.
 */
import { gzipSync } from 'node:zlib';
import { type BuildOptions, build, transform } from 'esbuild';
import { packPackage, ROOT } from './pack.ts';

interface Case {
  name: string;
  code: string;
  /** Budget in gzipped bytes: a number, or another case's name (no larger than it). */
  budget?: number | string;
  /** Package files (paths under dist/) that must not be in the bundle. */
  excludes?: string[];
  /** Package files that must be in it (proves the check looks at the right thing). */
  includes?: string[];
}

const CLIENT_ONLY = ['dist/server/', 'dist/hub/', 'dist/adapters/', 'dist/react/'];

const CASES: Case[] = [
  {
    name: 'eventsource-parser: createParser',
    code: `export { createParser } from 'eventsource-parser';`,
  },
  {
    name: 'ssekit: createParser',
    code: `export { createParser } from 'ssekit';`,
    budget: 'eventsource-parser: createParser',
    includes: ['dist/protocol/parser.js'],
    excludes: [
      'dist/protocol/encode.js',
      'dist/protocol/encoder-stream.js',
      'dist/protocol/decoder-stream.js',
      'dist/client/',
      ...CLIENT_ONLY,
    ],
  },
  {
    name: 'ssekit: encodeEvent',
    code: `export { encodeEvent } from 'ssekit';`,
    includes: ['dist/protocol/encode.js'],
    excludes: ['dist/protocol/parser.js', 'dist/protocol/decoder-stream.js', 'dist/client/'],
  },
  {
    name: '@microsoft/fetch-event-source: fetchEventSource',
    code: `export { fetchEventSource } from '@microsoft/fetch-event-source';`,
  },
  {
    name: 'ssekit/client: fetchEventStream',
    code: `export { fetchEventStream } from 'ssekit/client';`,
    // Issue 11 asked for 4 kB; the parser and the error classes alone are 1.75 kB, and the rules
    // issue 10 requires by default (resume never re-run, provider terminal events, stop, idle
    // 'auto') about 1 kB more: the budget holds today's size (7.06 kB) against growth. Plus 0.1 kB
    // for the browser's rules (eventsource-conformance): Fetch's MIME type extraction (71 B), a
    // UTF-8 Last-Event-ID (20 B), a retry: past 2^31-1 ms not wrapped (20 B), the idle watcher
    // passed into the core (25 B, which keeps 0.21 kB out of EventSource). The terminal rule's
    // shortcut for chat-completion chunks (20 B: 162 -> 21 ns per OpenAI chunk) fits in it.
    budget: 7300,
    includes: ['dist/client/fetch-event-stream.js', 'dist/protocol/parser.js'],
    excludes: [
      'dist/client/event-source.js',
      'dist/protocol/encode.js',
      // contracts cost nothing here: they live behind fetchContractStream
      'dist/client/fetch-contract-stream.js',
      'dist/contract/',
      ...CLIENT_ONLY,
    ],
  },
  {
    name: 'ssekit/client: fetchContractStream',
    code: `export { fetchContractStream } from 'ssekit/client';`,
    includes: ['dist/client/fetch-contract-stream.js', 'dist/contract/validate.js'],
    excludes: ['dist/client/event-source.js', 'dist/protocol/encode.js', ...CLIENT_ONLY],
  },
  {
    name: 'ssekit/client: EventSource',
    code: `export { EventSource } from 'ssekit/client';`,
    budget: 5000,
    includes: ['dist/client/event-source.js', 'dist/client/_connection.js'],
    // The browser's rules: none of fetchEventStream's (resume rule, terminal events, queue, stop).
    excludes: [
      'dist/client/fetch-event-stream.js',
      'dist/client/_resume-rule.js',
      'dist/client/_event-queue.js',
      'dist/client/_stop.js',
      'dist/client/terminal.js',
      'dist/_internal/terminal.js',
      'dist/client/_idle.js', // no idle timeouts: fetchEventStream passes its watcher in
      ...CLIENT_ONLY,
    ],
  },
  {
    name: 'ssekit/client/multiplex: createMultiplex (with its client)',
    code: `export { createMultiplex } from 'ssekit/client/multiplex';`,
    budget: 10_300, // fetchEventStream's client (7.79 kB) plus the multiplex and tab sharing (2.3 kB)
    includes: ['dist/client/multiplex.js', 'dist/client/_multiplex-tabs.js'],
    excludes: ['dist/client/event-source.js', ...CLIENT_ONLY],
  },
  {
    name: 'ssekit/react: useEventStream (with its client)',
    code: `export { useEventStream } from 'ssekit/react';`,
    // The client's 7.06 kB plus the hook's 1.03 kB (issue 11 asked for 5 kB), plus the terminal
    // rule's shortcut for chat-completion chunks (20 B; 162 -> 21 ns per OpenAI chunk).
    budget: 8300,
    includes: ['dist/react/use-event-stream.js', 'dist/client/fetch-event-stream.js'],
    excludes: [
      'dist/client/event-source.js',
      'dist/client/_event-queue.js', // the hook does not iterate
      'dist/client/fetch-contract-stream.js',
      'dist/contract/',
      'dist/server/',
      'dist/hub/',
      'dist/adapters/',
      'dist/protocol/encode.js',
    ],
  },
  {
    name: 'ssekit/ai/client: createChatTransport (with its client)',
    code: `export { createChatTransport } from 'ssekit/ai/client';`,
    budget: 8500, // fetchEventStream (7.79 kB measured today) plus the transport's 0.67 kB
    includes: ['dist/ai/chat-transport.js', 'dist/client/fetch-event-stream.js'],
    excludes: [
      'dist/ai/chat-streams.js',
      'dist/ai/_ui-message-response.js',
      'dist/client/event-source.js',
      'dist/protocol/encode.js',
      ...CLIENT_ONLY,
    ],
  },
  {
    name: 'ssekit/server: createEventStream',
    code: `export { createEventStream } from 'ssekit/server';`,
    includes: ['dist/server/create-event-stream.js'],
    excludes: [
      'dist/client/',
      'dist/hub/',
      'dist/react/',
      'dist/adapters/',
      'dist/server/relay-event-stream.js',
      'dist/protocol/parser.js',
    ],
  },
  {
    name: 'ssekit/hub: createHub',
    code: `export { createHub } from 'ssekit/hub';`,
    includes: ['dist/hub/hub.js', 'dist/hub/memory-engine.js'],
    excludes: ['dist/client/', 'dist/react/', 'dist/adapters/', 'dist/hub/redis.js'],
  },
  {
    name: 'ssekit/hub/durable-object: the engine and its object',
    code: `export { createDurableObjectEngine, HubObject } from 'ssekit/hub/durable-object';`,
    includes: ['dist/hub/durable-object.js', 'dist/hub/_durable-object-log.js'],
    excludes: ['dist/hub/hub.js', 'dist/server/', 'dist/client/', 'dist/protocol/'],
  },
];

export interface Measured {
  name: string;
  minified: number;
  gzip: number;
  budget?: number;
  files: string[];
  problems: string[];
}

/** What one file costs in a bundle (see the module comment). */
export interface FileCost {
  file: string;
  /** Gzipped bytes the bundle would lose without the file's code. */
  gzip: number;
  minified: number;
}

const BUILD = {
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  write: false,
  external: ['react', 'react-dom'],
  logLevel: 'error',
} satisfies BuildOptions;

async function measure(item: Case, resolveDir: string): Promise<Measured> {
  const result = await build({
    ...BUILD,
    stdin: { contents: item.code, resolveDir, loader: 'js' },
    minify: true,
    metafile: true,
  });
  const output = result.outputFiles[0]!.contents;
  const meta = Object.values(result.metafile.outputs)[0]!;
  const files = Object.entries(meta.inputs)
    .filter(([, input]) => input.bytesInOutput > 0)
    .map(([path]) => path.replace(/^.*node_modules\/ssekit\//, ''))
    .sort();
  const problems: string[] = [];
  for (const prefix of item.excludes ?? []) {
    const found = files.filter((file) => file.startsWith(prefix));
    if (found.length > 0) problems.push(`pulls in ${found.join(', ')} (should not)`);
  }
  for (const file of item.includes ?? []) {
    if (!files.includes(file)) problems.push(`does not contain ${file}: is the check stale?`);
  }
  return {
    name: item.name,
    minified: output.length,
    gzip: gzipSync(output, { level: 9 }).length,
    files,
    problems,
  };
}

const gzip = (text: string): number => gzipSync(text, { level: 9 }).length;

/**
 * The cost of each package file in a case's bundle. The bundle is built minified except for
 * whitespace, so that esbuild's `// path` comments mark where each file's code starts; each part
 * is then minified alone (the same code, renamed the same way) and left out in turn.
 */
export async function breakdown(item: Case, resolveDir: string): Promise<FileCost[]> {
  const result = await build({
    ...BUILD,
    stdin: { contents: item.code, resolveDir, loader: 'js' },
    minifyIdentifiers: true,
    minifySyntax: true,
  });
  const pieces = result.outputFiles[0]!.text.split(/^\/\/ (\S+)\n/m);
  const minify = async (code: string) =>
    (await transform(code, { minifyWhitespace: true, loader: 'js' })).code;
  const head = await minify(pieces[0]!);
  // A file's code can come in more than one piece (esbuild hoists some statements).
  const codes: Array<{ file: string; code: string }> = [];
  for (let index = 1; index < pieces.length; index += 2) {
    const file = pieces[index]!.replace(/^.*node_modules\/ssekit\//, '');
    codes.push({ file, code: await minify(pieces[index + 1]!) });
  }
  const join = (keep: (file: string) => boolean) =>
    head + codes.map((piece) => (keep(piece.file) ? piece.code : '')).join('');
  const whole = gzip(join(() => true));
  const files = [...new Set(codes.map((piece) => piece.file))];
  return files
    .map((file) => ({
      file,
      gzip: whole - gzip(join((other) => other !== file)),
      minified: join((other) => other === file).length - head.length,
    }))
    .sort((a, b) => b.gzip - a.gzip);
}

export async function measureAll(): Promise<Measured[]> {
  const packed = packPackage();
  const results: Measured[] = [];
  for (const item of CASES) {
    // ssekit from the unpacked tarball; the other packages from the repository's node_modules.
    const resolveDir = item.code.includes("'ssekit") ? packed.prefix : ROOT;
    const measured = await measure(item, resolveDir);
    if (typeof item.budget === 'number') measured.budget = item.budget;
    if (typeof item.budget === 'string') {
      const other = results.find((result) => result.name === item.budget);
      if (!other) throw new Error(`${item.name}: no case named ${item.budget}`);
      measured.budget = other.gzip;
    }
    if (measured.budget !== undefined && measured.gzip > measured.budget) {
      measured.problems.push(
        `${measured.gzip} B gzipped is over the budget of ${measured.budget} B`,
      );
    }
    results.push(measured);
  }
  return results;
}

if (process.argv[1]?.endsWith('size.ts')) {
  const results = await measureAll();
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify(results, null, 2));
  } else {
    const kb = (bytes: number) => `${(bytes / 1000).toFixed(2)} kB`;
    const detailed = process.argv.includes('--breakdown');
    const packed = detailed ? packPackage() : undefined;
    console.log('min+gzip   minified   budget     case');
    for (const [index, result] of results.entries()) {
      const budget = result.budget === undefined ? '' : kb(result.budget);
      console.log(
        `${kb(result.gzip).padEnd(10)} ${kb(result.minified).padEnd(10)} ${budget.padEnd(10)} ${result.name}`,
      );
      for (const problem of result.problems) console.log(`  FAIL: ${problem}`);
      const item = CASES[index]!;
      if (!packed || result.budget === undefined || !item.code.includes("'ssekit")) continue;
      for (const part of await breakdown(item, packed.prefix)) {
        console.log(
          `  ${String(part.gzip).padStart(6)} B ${String(part.minified).padStart(7)} B  ${part.file}`,
        );
      }
    }
  }
  const failed = results.filter((result) => result.problems.length > 0);
  if (failed.length > 0) {
    console.error(`size: ${failed.length} case(s) failed: ${failed.map((r) => r.name).join('; ')}`);
    process.exitCode = 1;
  } else {
    console.log('size: every budget and tree-shaking rule holds');
  }
}
