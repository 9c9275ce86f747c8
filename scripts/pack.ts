/**
 * The package as users get it: `npm pack` (whose `prepack` runs the dual build) into a cache
 * folder keyed by a hash of everything that goes into the tarball, unpacked there as
 * `node_modules/ssekit`. The runtime and framework suites, the size check and the package check
 * all use it; concurrent callers (vitest workers) wait for the first one through a lock folder.
 *
 * `npx tsx scripts/pack.ts` prints the tarball's path.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root folder. */
export const ROOT: string = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Where the packed package lives. */
export interface PackedPackage {
  /** The `.tgz` that `npm pack` wrote. */
  tarball: string;
  /** A folder whose `node_modules/ssekit` is the unpacked tarball. */
  prefix: string;
  /** `prefix/node_modules/ssekit`. */
  packageDir: string;
  /** The files in the tarball, relative to the package root. */
  files: string[];
}

const INPUTS = ['package.json', 'README.md', 'LICENSE', 'src', 'docs', 'scripts/build.ts'];

function listFiles(path: string): string[] {
  if (!existsSync(path)) return [];
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path)
    .sort()
    .flatMap((name) => listFiles(join(path, name)));
}

function inputHash(): string {
  const hash = createHash('sha256');
  const configs = readdirSync(ROOT).filter((name) => /^tsconfig.*\.json$/.test(name));
  for (const file of [...INPUTS, ...configs].flatMap((input) => listFiles(join(ROOT, input)))) {
    hash.update(relative(ROOT, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Makes `dir` once: the first caller (of any process) runs `make` in a staging folder that is
 * renamed to `dir` when complete; the others wait on a lock folder. A complete `dir` is reused.
 */
export function makeOnce(dir: string, make: (staging: string) => void): void {
  const done = () => existsSync(join(dir, '.complete'));
  mkdirSync(dirname(dir), { recursive: true });
  for (const started = Date.now(); !done(); sleep(200)) {
    try {
      mkdirSync(`${dir}.lock`);
    } catch (error) {
      if ((error as { code?: string }).code !== 'EEXIST') throw error;
      // Another process makes it; a lock older than 10 minutes is a crashed one.
      if (Date.now() - started > 600_000) rmSync(`${dir}.lock`, { recursive: true, force: true });
      continue;
    }
    try {
      if (!done()) {
        const staging = `${dir}.staging-${process.pid}`;
        rmSync(staging, { recursive: true, force: true });
        mkdirSync(staging, { recursive: true });
        make(staging);
        writeFileSync(join(staging, '.complete'), '');
        rmSync(dir, { recursive: true, force: true });
        renameSync(staging, dir);
      }
    } finally {
      rmSync(`${dir}.lock`, { recursive: true, force: true });
    }
  }
}

function pack(staging: string): void {
  const output = execFileSync('npm', ['pack', '--json', '--pack-destination', staging], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  // npm prints the prepack script's output before the JSON.
  const json = JSON.parse(output.slice(output.indexOf('[\n'))) as [
    { filename: string; files: { path: string }[] },
  ];
  const packageDir = join(staging, 'node_modules', 'ssekit');
  mkdirSync(packageDir, { recursive: true });
  execFileSync('tar', ['-xzf', join(staging, json[0].filename), '-C', packageDir, '--strip=1']);
  writeFileSync(
    join(staging, 'pack.json'),
    JSON.stringify({
      tarball: json[0].filename,
      files: json[0].files.map((file) => file.path).sort(),
    }),
  );
}

/**
 * Removes what earlier runs left in `parent` and no run used for a day (each content change of
 * the package or the examples makes a new folder there).
 */
export function pruneStale(parent: string, keep: string): void {
  if (!existsSync(parent)) return;
  for (const name of readdirSync(parent)) {
    const path = join(parent, name);
    if (path === keep || Date.now() - statSync(path).mtimeMs < 86_400_000) continue;
    rmSync(path, { recursive: true, force: true });
  }
}

/** Packs the package once per content (cached across runs in the OS temp folder). */
export function packPackage(): PackedPackage {
  const cache = join(tmpdir(), 'ssekit-pack');
  mkdirSync(cache, { recursive: true });
  const dir = join(cache, inputHash());
  pruneStale(cache, dir);
  makeOnce(dir, pack);
  const { tarball, files } = JSON.parse(readFileSync(join(dir, 'pack.json'), 'utf8')) as {
    tarball: string;
    files: string[];
  };
  return {
    tarball: join(dir, tarball),
    prefix: dir,
    packageDir: join(dir, 'node_modules', 'ssekit'),
    files,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(packPackage().tarball);
}
