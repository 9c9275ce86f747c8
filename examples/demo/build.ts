/**
 * Builds the demo page with Vite into examples/demo/dist, which the demo server serves. `npm start`
 * calls {@link ensureBuilt}, so a fresh clone needs no separate build step; run this file to
 * rebuild by hand: `node --import tsx examples/demo/build.ts`.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { InlineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));
const repo = join(here, '../..');
/** Everything the page is built from: a change in any of them makes the build stale. */
const SOURCES = [
  join(here, 'web'),
  join(here, 'shared.ts'),
  join(repo, 'src/react'),
  join(repo, 'src/client'),
  join(repo, 'src/ai'),
  join(repo, 'src/_internal'),
  join(repo, 'src/protocol'),
  join(repo, 'src/errors.ts'),
];

/** The Vite configuration of the page (also what vite.config.ts exports). */
export async function viteConfig(): Promise<InlineConfig> {
  // Vite is loaded only to build: a demo whose page is built already starts without it.
  const { default: react } = await import('@vitejs/plugin-react');
  return {
    root: join(here, 'web'),
    plugins: [react()],
    logLevel: 'warn',
    build: { outDir: join(here, 'dist'), emptyOutDir: true, target: 'es2022' },
    // `npx vite --config examples/demo/vite.config.ts` serves the page with hot reload; the API
    // stays on the demo server.
    server: { proxy: { '/api': 'http://127.0.0.1:3000' } },
  };
}

/** Builds the page, for production whatever NODE_ENV says. */
export async function buildPage(): Promise<void> {
  // Vite and the React plugin take NODE_ENV as they find it: under vitest ("test") they would
  // bundle React's development build into the page that `npm start` later serves as is.
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    const { build } = await import('vite');
    await build({ ...(await viteConfig()), configFile: false, mode: 'production' });
  } finally {
    if (nodeEnv === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = nodeEnv;
  }
}

/** Builds the page unless dist/ is newer than every source; resolves with whether it built. */
export async function ensureBuilt(): Promise<boolean> {
  const builtAt = await mtime(join(here, 'dist/index.html'));
  if (builtAt !== undefined) {
    const newest = Math.max(...(await Promise.all(SOURCES.map(newestMtime))));
    if (newest <= builtAt) return false;
  }
  await buildPage();
  return true;
}

async function mtime(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).mtimeMs;
  } catch {
    return undefined;
  }
}

async function newestMtime(path: string): Promise<number> {
  const info = await stat(path);
  if (!info.isDirectory()) return info.mtimeMs;
  const names = await readdir(path, { recursive: true });
  const times = await Promise.all(names.map((name) => mtime(join(path, name))));
  return Math.max(info.mtimeMs, ...times.map((time) => time ?? 0));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await buildPage();
  console.log('Built examples/demo/dist');
}
