/**
 * The examples as users get them: each example with a package.json is copied into one npm
 * workspace in the OS temp folder, its `ssekit` dependency pointed at the packed tarball
 * (scripts/pack.ts), and everything installed from the npm registry with one `npm install`.
 * The workspace is keyed by a hash of the tarball and the examples, so it is made once per
 * content and reused by every test file of the run (and by later runs until something changes).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { makeOnce, packPackage, pruneStale, ROOT } from '../../scripts/pack.ts';

const EXAMPLES = join(ROOT, 'examples');

/** The examples that are projects of their own (the demo runs from the repository). */
export function exampleProjects(): string[] {
  return readdirSync(EXAMPLES)
    .filter((name) => name !== 'demo' && existsSync(join(EXAMPLES, name, 'package.json')))
    .sort();
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => !['node_modules', 'dist', '.next', '.netlify'].includes(name))
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? sourceFiles(path) : [path];
    });
}

export interface Workspace {
  /** The workspace root (its node_modules holds every example's dependencies). */
  root: string;
  /** The folder of one example in the workspace. */
  example(name: string): string;
}

/** Copies the examples, installs them once, and returns the workspace. */
export function exampleWorkspace(): Workspace {
  const packed = packPackage();
  const names = exampleProjects();
  const hash = createHash('sha256').update(basename(packed.prefix));
  for (const file of names.flatMap((name) => sourceFiles(join(EXAMPLES, name)))) {
    hash.update(relative(ROOT, file)).update(readFileSync(file));
  }
  const root = join(tmpdir(), 'ssekit-examples', hash.digest('hex').slice(0, 16));
  pruneStale(join(tmpdir(), 'ssekit-examples'), root);
  makeOnce(root, (staging) => {
    cpSync(packed.tarball, join(staging, 'ssekit.tgz'));
    for (const name of names) {
      const target = join(staging, 'examples', name);
      for (const file of sourceFiles(join(EXAMPLES, name))) {
        cpSync(file, join(target, relative(join(EXAMPLES, name), file)));
      }
      const manifestPath = join(target, 'package.json');
      const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
      manifest.dependencies.ssekit = 'file:../../ssekit.tgz';
      writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
    }
    writeFileSync(
      join(staging, 'package.json'),
      `${JSON.stringify({ name: 'ssekit-examples', private: true, workspaces: ['examples/*'] }, null, 2)}\n`,
    );
    execFileSync(
      'npm',
      ['install', '--no-audit', '--no-fund', '--loglevel=error', '--prefer-offline'],
      { cwd: staging, stdio: ['ignore', 'inherit', 'inherit'], env: npmEnv() },
    );
  });
  return { root, example: (name) => join(root, 'examples', name) };
}

function npmEnv(): NodeJS.ProcessEnv {
  // Run npm as a user would: not with the settings of the npm script that started vitest.
  const env: NodeJS.ProcessEnv = { ...process.env, NEXT_TELEMETRY_DISABLED: '1' };
  for (const key of Object.keys(env)) if (key.startsWith('npm_')) delete env[key];
  return env;
}

/** Runs a command to completion in `cwd`; throws with its output when it fails. */
export function run(command: string, args: string[], cwd: string): string {
  try {
    return execFileSync(command, args, { cwd, encoding: 'utf8', env: npmEnv(), stdio: 'pipe' });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}:\n${stdout}\n${stderr}`);
  }
}

/** A long-running process whose output is kept and can be waited for. */
export interface Started {
  readonly output: string;
  /** Resolves with the first match of `pattern` in the output (rejects after `timeoutMs`). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  stop(): Promise<void>;
}

export function start(
  command: string,
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): Started {
  const child: ChildProcess = spawn(command, args, {
    cwd,
    env: { ...npmEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group: stop() ends what it started too (npm, next)
  });
  let output = '';
  const waiters = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    for (const waiter of waiters) waiter();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  exited.then(() => {
    for (const waiter of waiters) waiter();
  });
  return {
    get output() {
      return output;
    },
    waitFor(pattern, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no ${pattern} after ${timeoutMs} ms in:\n${output}`));
        }, timeoutMs);
        const check = () => {
          const match = pattern.exec(output);
          if (match) {
            clearTimeout(timer);
            waiters.delete(check);
            resolve(match);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            clearTimeout(timer);
            waiters.delete(check);
            reject(new Error(`${command} exited before ${pattern}:\n${output}`));
          }
        };
        waiters.add(check);
        check();
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(-child.pid!, 'SIGTERM');
        } catch {
          child.kill('SIGTERM');
        }
        const timer = setTimeout(() => {
          try {
            process.kill(-child.pid!, 'SIGKILL');
          } catch {}
        }, 5000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}
