/**
 * Deno, Bun and workerd from their npm packages, and a way to serve a bundled Web fetch handler
 * (`export default { fetch }`) with each of them: `Deno.serve`, `Bun.serve`, and a workerd config
 * without `nodejs_compat`. The code under test is the packed package (scripts/pack.ts), bundled
 * with esbuild for a neutral platform (no Node built-ins can sneak in).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';
import { packPackage } from '../../scripts/pack.ts';

export type RuntimeName = 'deno' | 'bun' | 'workerd';
export const RUNTIMES: readonly RuntimeName[] = ['deno', 'bun', 'workerd'];

/** workerd's compatibility date: recent, and no compatibility flags at all (no nodejs_compat). */
export const WORKERD_COMPATIBILITY_DATE = '2026-11-01';

const require = createRequire(import.meta.url);

// The binaries ship in per-platform packages (optional dependencies). The wrapper packages' install
// scripts only copy or link them, so they are found here with or without those scripts.
const PLATFORM: Record<RuntimeName, () => string[]> = {
  deno: () => [`@deno/${process.platform}-${process.arch}-glibc/deno`, 'deno/deno'],
  bun: () => [`@oven/bun-${process.platform}-${process.arch}/bin/bun`, 'bun/bin/bun.exe'],
  workerd: () => [
    `@cloudflare/workerd-${process.platform}-${process.arch === 'x64' ? '64' : process.arch}/bin/workerd`,
  ],
};

function resolveFrom(spec: string, wrapper: string): string | undefined {
  const [scopeOrName, ...rest] = spec.split('/');
  const packageName = scopeOrName!.startsWith('@')
    ? `${scopeOrName}/${rest.shift()}`
    : scopeOrName!;
  try {
    const wrapperDir = dirname(require.resolve(`${wrapper}/package.json`));
    const manifest = require.resolve(`${packageName}/package.json`, { paths: [wrapperDir] });
    return join(dirname(manifest), ...rest);
  } catch {
    return undefined;
  }
}

const binaries = new Map<RuntimeName, string>();

/** The path of a runtime's executable, from the npm packages (no install script needed). */
export function runtimeBinary(name: RuntimeName): string {
  const known = binaries.get(name);
  if (known) return known;
  for (const spec of PLATFORM[name]()) {
    const path = resolveFrom(spec, name);
    // A placeholder (the wrapper's bin before its install script ran) is a few hundred bytes.
    if (path && statSync(path, { throwIfNoEntry: false })?.isFile() && statSync(path).size > 1e6) {
      binaries.set(name, path);
      return path;
    }
  }
  throw new Error(
    `${name}: no binary found in node_modules (tried ${PLATFORM[name]().join(', ')})`,
  );
}

/** `deno 2.x.y`, `bun 1.x.y`, `workerd 2026-mm-dd`. */
export function runtimeVersion(name: RuntimeName): string {
  const output = execFileSync(runtimeBinary(name), ['--version'], { encoding: 'utf8' });
  const first = output.split('\n')[0]!.trim();
  return name === 'bun' ? `bun ${first}` : first.split(' (')[0]!;
}

/** Bundles `entry` (which imports `ssekit/...`) against the packed package, for any runtime. */
export async function bundle(entry: string, outdir: string): Promise<string> {
  const packed = packPackage();
  const outfile = join(outdir, 'app.js');
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    logLevel: 'warning',
    plugins: [
      {
        name: 'packed-ssekit',
        setup(context) {
          // `ssekit/...` resolves from the unpacked tarball, through its exports map.
          context.onResolve({ filter: /^ssekit(\/|$)/ }, (args) =>
            args.pluginData === 'packed'
              ? undefined
              : context.resolve(args.path, {
                  kind: args.kind,
                  resolveDir: packed.prefix,
                  pluginData: 'packed',
                }),
          );
        },
      },
    ],
  });
  return outfile;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A runtime serving a bundled fetch handler on 127.0.0.1. */
export interface RunningApp {
  url: string;
  /** Everything the runtime printed (stdout and stderr). */
  readonly output: string;
  close(): Promise<void>;
}

const DENO_MAIN = `import app from './app.js';
Deno.serve({ hostname: '127.0.0.1', port: 0, onListen: ({ port }) => console.log('listening ' + port) },
  (request) => app.fetch(request));
`;

const BUN_MAIN = `import app from './app.js';
const server = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: (request) => app.fetch(request) });
console.log('listening ' + server.port);
`;

function workerdConfig(port: number): string {
  return `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .app),
    (name = "loopback", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
const app :Workerd.Worker = (
  modules = [ (name = "app.js", esModule = embed "app.js") ],
  compatibilityDate = "${WORKERD_COMPATIBILITY_DATE}",
  globalOutbound = "loopback",
);
`;
}

async function waitForHttp(url: string, child: ChildProcess, output: () => string): Promise<void> {
  for (const started = Date.now(); ; ) {
    if (child.exitCode !== null) throw new Error(`the runtime exited: ${output()}`);
    try {
      await fetch(url);
      return;
    } catch {
      if (Date.now() - started > 20_000) throw new Error(`not listening at ${url}: ${output()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** Bundles `entry` and serves it with `runtime`. */
export async function serveApp(runtime: RuntimeName, entry: string): Promise<RunningApp> {
  const dir = mkdtempSync(join(tmpdir(), `ssekit-${runtime}-`));
  await bundle(entry, dir);
  let args: string[];
  let port: number | undefined;
  if (runtime === 'deno') {
    writeFileSync(join(dir, 'main.js'), DENO_MAIN);
    mkdirSync(join(dir, 'deno-dir'));
    args = ['run', '--allow-net', '--no-prompt', '--no-config', 'main.js'];
  } else if (runtime === 'bun') {
    writeFileSync(join(dir, 'main.js'), BUN_MAIN);
    args = ['run', '--no-install', 'main.js'];
  } else {
    port = await freePort();
    writeFileSync(join(dir, 'config.capnp'), workerdConfig(port));
    args = ['serve', 'config.capnp'];
  }
  const child = spawn(runtimeBinary(runtime), args, {
    cwd: dir,
    env: { ...process.env, DENO_DIR: join(dir, 'deno-dir'), NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const listening = new Promise<number>((resolve) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening (\d+)/.exec(output);
      if (match) resolve(Number(match[1]));
    });
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const close = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    if (port === undefined) {
      port = await Promise.race([
        listening,
        exited.then(() => {
          throw new Error(`${runtime} exited before listening: ${output}`);
        }),
      ]);
    }
    const url = `http://127.0.0.1:${port}`;
    await waitForHttp(url, child, () => output);
    return {
      url,
      get output() {
        return output;
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
