/**
 * examples/hono as users get it: installed from the packed tarball, type-checked by `deno check`,
 * and the same Hono app started with real Bun (`Bun.serve`) and real Deno (`Deno.serve`), reading
 * ssekit and hono from node_modules.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { runtimeBinary } from '../runtimes/_runtimes.ts';
import { expectAnswer, expectJsonErrors, expectLeaveStopsModel, expectSafeError } from './_chat.ts';
import { exampleWorkspace, run, type Started, start } from './_workspace.ts';

const workspace = exampleWorkspace();
const dir = workspace.example('hono');
const denoDir = mkdtempSync(join(tmpdir(), 'ssekit-hono-deno-'));
const env = { PORT: '0', HOST: '127.0.0.1', DENO_DIR: denoDir, NO_COLOR: '1' };

afterAll(() => rmSync(denoDir, { recursive: true, force: true }));

describe.each([
  ['bun', () => start(runtimeBinary('bun'), ['run', 'src/bun.ts'], dir, env)],
  [
    'deno',
    () => {
      run(runtimeBinary('deno'), ['check', 'src/deno.ts'], dir);
      const args = [
        'run',
        '--allow-net',
        '--allow-env',
        '--allow-read',
        '--no-prompt',
        'src/deno.ts',
      ];
      return start(runtimeBinary('deno'), args, dir, env);
    },
  ],
])('examples/hono on %s', (_runtime, launch) => {
  let server: Started;
  let url: string;
  beforeAll(async () => {
    server = launch();
    url = (await server.waitFor(/listening on (\S+)/))[1]!;
  });
  afterAll(() => server?.stop());

  test('every token as an event, then done', () => expectAnswer(url));
  test('bad requests get JSON errors', () => expectJsonErrors(url));
  test('a failing model ends the stream with a safe error event', () => expectSafeError(url));
  test('a client leaving stops the model', () =>
    expectLeaveStopsModel(url, () => server.waitFor(/the model stopped/, 5000)));
});
