/**
 * `npm run check:package`: the package as users get it (scripts/pack.ts), checked in CI.
 *
 * 1. The tarball holds LICENSE, README.md, docs/*.md (the README's links resolve inside it), both
 *    builds, and no tests.
 * 2. `@arethetypeswrong/cli` finds no problem in any resolution it knows: node10 (through
 *    `typesVersions`, for projects still on `moduleResolution: node`), node16 from CommonJS and
 *    from ESM, and bundler.
 * 3. Node: every subpath loads with `require` and with `import`, with the same export names.
 * 4. TypeScript consumers compile against the published .d.ts with `skipLibCheck: false`: ESM
 *    (node16), CommonJS (node16), CommonJS with node10 resolution (what `func init` creates for
 *    Azure Functions) and bundler; and a Node-only project (`lib: ES2022`, no DOM,
 *    `types: ["node"]`) that imports the universal entries.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packPackage, ROOT } from './pack.ts';

const packed = packPackage();
const manifest = JSON.parse(readFileSync(join(packed.packageDir, 'package.json'), 'utf8')) as {
  exports: Record<string, unknown>;
};
const SUBPATHS = Object.keys(manifest.exports)
  .filter((key) => key !== './package.json')
  .map((key) => key.replace(/^\./, 'ssekit'));
const UNIVERSAL = [
  'ssekit',
  'ssekit/client',
  'ssekit/server',
  'ssekit/hub',
  'ssekit/ai',
  'ssekit/ai/client',
];

const failures: string[] = [];
function check(name: string, run: () => string | undefined): void {
  const problem = run();
  console.log(`${problem ? 'FAIL' : 'ok  '} ${name}${problem ? `\n${problem}` : ''}`);
  if (problem) failures.push(name);
}

check('the tarball: LICENSE, README, docs, both builds, no tests', () => {
  const files = new Set(packed.files);
  const needed = ['LICENSE', 'README.md', 'package.json', 'dist/cjs/package.json'];
  // Every file the exports map names (both conditions, code and types) is in the tarball.
  for (const [key, target] of Object.entries(manifest.exports)) {
    if (key === './package.json') continue;
    const conditions = target as Record<string, Record<string, string>>;
    for (const condition of Object.values(conditions)) {
      for (const file of Object.values(condition)) needed.push(file.replace(/^\.\//, ''));
    }
  }
  const readme = readFileSync(join(packed.packageDir, 'README.md'), 'utf8');
  // The reference pages ship; the screenshot (docs/demo.png) stays in the repository.
  for (const [, link] of readme.matchAll(/\]\((docs\/[^)#\s]+\.md)/g)) needed.push(link!);
  const missing = needed.filter((file) => !files.has(file));
  const tests = [...files].filter((file) => /\.test\.ts$|^test\//.test(file));
  if (missing.length + tests.length === 0) return undefined;
  return `  missing: ${missing.join(', ') || '-'}\n  tests: ${tests.join(', ') || '-'}`;
});

check('@arethetypeswrong/cli (node10, node16 CJS and ESM, bundler)', () => {
  const attw = join(ROOT, 'node_modules', '@arethetypeswrong', 'cli', 'dist', 'index.js');
  const result = spawnSync(process.execPath, [attw, packed.tarball, '--format', 'table-flipped'], {
    encoding: 'utf8',
  });
  return result.status === 0 ? undefined : `${result.stdout}${result.stderr}`;
});

// A consumer inside the repository's node_modules: `ssekit` is a copy of the unpacked tarball, and the peer
// dependencies' types (react, express, koa, fastify, ioredis, @azure/functions) and TypeScript
// resolve from the repository's own node_modules further up.
const consumer = join(ROOT, 'node_modules', '.cache', 'ssekit-consumer');
rmSync(consumer, { recursive: true, force: true });
mkdirSync(join(consumer, 'node_modules'), { recursive: true });
cpSync(packed.packageDir, join(consumer, 'node_modules', 'ssekit'), { recursive: true });

function node(args: string[], cwd: string): string | undefined {
  const result = spawnSync(process.execPath, args, { cwd, encoding: 'utf8' });
  return result.status === 0 ? undefined : `${result.stdout}${result.stderr}`;
}

check('Node: require() and import() of every subpath give the same exports', () => {
  const dir = join(consumer, 'runtime');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), '{ "private": true }\n');
  writeFileSync(
    join(dir, 'check.mjs'),
    `import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const problems = [];
for (const subpath of ${JSON.stringify(SUBPATHS)}) {
  const cjs = Object.keys(require(subpath)).filter((name) => name !== '__esModule').sort();
  const esm = Object.keys(await import(subpath)).sort();
  if (cjs.length === 0 || cjs.join() !== esm.join()) problems.push(subpath + ': ' + cjs + ' / ' + esm);
}
const { fetchEventStream } = require('ssekit/client');
if (typeof fetchEventStream !== 'function') problems.push('require: fetchEventStream');
if (problems.length) { console.error(problems.join('\\n')); process.exit(1); }
`,
  );
  return node(['check.mjs'], dir);
});

function typeCheck(name: string, type: 'module' | 'commonjs', options: object, code: string) {
  const dir = join(consumer, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ private: true, type }));
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        skipLibCheck: false,
        noEmit: true,
        target: 'ES2022',
        lib: ['ES2022', 'DOM', 'DOM.Iterable'],
        types: ['node'],
        jsx: 'react-jsx',
        ...options,
      },
      include: ['index.ts'],
    }),
  );
  writeFileSync(join(dir, 'index.ts'), code);
  const output = node(
    [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.', '--pretty', 'false'],
    dir,
  );
  if (output === undefined) return undefined;
  // Errors in the package's .d.ts or in the consumer count; errors inside a peer's own types (say
  // @types/koa against the content-disposition that koa 3 installs) are the peer's, not ours.
  const ours = output
    .split('\n')
    .filter((line) => /^index\.ts\(|node_modules\/ssekit\//.test(line) || !/\.d\.ts\(/.test(line))
    .filter((line) => line.trim() !== '');
  const theirs = output.split('\n').filter((line) => line.trim() !== '' && !ours.includes(line));
  for (const line of theirs) console.log(`     (a peer's own types, not counted) ${line}`);
  return ours.length > 0 ? ours.join('\n') : undefined;
}

const ALL = `${SUBPATHS.map((subpath, index) => `import * as entry${index} from '${subpath}';`).join('\n')}
export const entries: unknown[] = [${SUBPATHS.map((_, index) => `entry${index}`).join(', ')}];
`;
const USE = `import { createParser } from 'ssekit';
import { fetchEventStream } from 'ssekit/client';
import { createEventStream } from 'ssekit/server';
import { createHub } from 'ssekit/hub';
export const parser = createParser({ onEvent: (event) => event.data.length });
export const stream = (url: string) => fetchEventStream(url, { json: { prompt: 'hi' } });
export const handler = (request: Request) =>
  createEventStream(request, async (events) => { await events.send({ data: 'x' }); });
export const hub = createHub();
`;

check('TypeScript ESM consumer (node16, skipLibCheck: false), every subpath', () =>
  typeCheck('esm', 'module', { module: 'Node16', moduleResolution: 'Node16' }, ALL + USE),
);
check('TypeScript CommonJS consumer (node16, skipLibCheck: false), every subpath', () =>
  typeCheck('cjs', 'commonjs', { module: 'Node16', moduleResolution: 'Node16' }, ALL + USE),
);
check('TypeScript CommonJS consumer as `func init` makes it (module commonjs, node10)', () =>
  typeCheck(
    'cjs-node10',
    'commonjs',
    { module: 'CommonJS', moduleResolution: 'Node10' },
    ALL + USE,
  ),
);
check('TypeScript bundler consumer (skipLibCheck: false), every subpath', () =>
  typeCheck('bundler', 'module', { module: 'ESNext', moduleResolution: 'Bundler' }, ALL + USE),
);
check('TypeScript Node-only consumer (lib ES2022, no DOM, types node), universal entries', () =>
  typeCheck(
    'node-only',
    'module',
    { module: 'Node16', moduleResolution: 'Node16', lib: ['ES2022'] },
    `${UNIVERSAL.map((subpath, index) => `import * as entry${index} from '${subpath}';`).join('\n')}
export const entries: unknown[] = [${UNIVERSAL.map((_, index) => `entry${index}`).join(', ')}];
${USE}`,
  ),
);

rmSync(consumer, { recursive: true, force: true });
if (failures.length > 0) {
  console.error(`check:package: ${failures.length} check(s) failed`);
  process.exitCode = 1;
} else {
  console.log('check:package: the packed package passes every check');
}
