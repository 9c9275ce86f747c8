/**
 * Real headless Chromium (Debian's `chromium`, driven by playwright-core; never a downloaded
 * browser). `.ci/run` installs the package when it is missing.
 */
import { existsSync } from 'node:fs';
import { build } from 'esbuild';
import { type Browser, chromium } from 'playwright-core';

const CANDIDATES = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'];

export function chromiumPath(): string {
  const path = CANDIDATES.find((candidate) => candidate && existsSync(candidate));
  if (!path) {
    throw new Error(
      'Chromium not found: install Debian `chromium` (bash .ci/run does) or set CHROMIUM_PATH.',
    );
  }
  return path;
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
}

/**
 * One ES module for a page: `entry` (a URL, e.g. `new URL('../../src/client/index.ts',
 * import.meta.url)`) and what it imports, bundled for evergreen browsers. JSX and React's
 * production build for .tsx pages.
 */
export async function bundleForBrowser(entry: URL): Promise<string> {
  const bundle = await build({
    entryPoints: [entry.pathname],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    jsx: 'automatic',
    define: { 'process.env.NODE_ENV': '"production"' },
    write: false,
    logLevel: 'error',
  });
  return bundle.outputFiles[0]!.text;
}
