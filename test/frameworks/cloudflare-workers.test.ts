/**
 * examples/cloudflare-workers as users get it: installed from the packed tarball, type-checked
 * against @cloudflare/workers-types, bundled with esbuild (as wrangler does) and run by workerd
 * with no compatibility flags (no nodejs_compat). The hub is created at module scope.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { client } from '../runtimes/_package.ts';
import { type RunningApp, serveApp } from '../runtimes/_runtimes.ts';
import { expectResumedAnswer, TOKENS } from './_chat.ts';
import { exampleWorkspace, run } from './_workspace.ts';

const workspace = exampleWorkspace();
const dir = workspace.example('cloudflare-workers');

describe('examples/cloudflare-workers', () => {
  let worker: RunningApp;
  beforeAll(async () => {
    run('npm', ['run', 'typecheck'], dir);
    worker = await serveApp('workerd', join(dir, 'src', 'index.ts'));
  });
  afterAll(() => worker?.close());

  test('the Node client reads the whole answer', async () => {
    const tokens: string[] = [];
    for await (const event of client.fetchEventStream(`${worker.url}/api/chat`, {
      json: { prompt: 'Why SSE?' },
    })) {
      if (event.type === 'token') tokens.push(event.data);
    }
    expect(tokens).toEqual(TOKENS);
  });

  test('a cut connection resumes with Last-Event-ID: the rest of the run, exactly once', async () => {
    await expectResumedAnswer(`${worker.url}/api/chat`);
  });
});
