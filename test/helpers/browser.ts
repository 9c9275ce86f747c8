/**
 * Real headless Chromium (Debian's `chromium`, driven by playwright-core; never a downloaded
 * browser). `.ci/run` installs the package when it is missing.
 */
import { existsSync } from 'node:fs';
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
