/**
 * examples/netlify as users get it: installed from the packed tarball and type-checked against
 * Netlify's types; the Functions v2 function bundled with esbuild (as Netlify's node_bundler does)
 * and served by Node; the edge function run by real Deno with the edge function signature
 * `(request, context)`, behind a router that sends `/api/chat` to the function, as Netlify does.
 * Aborts propagate both ways: the browser leaving the edge stops the function's model, and the
 * function dying mid-stream ends the browser's stream with an `error` event.
 */

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { readAll, readSome } from '../runtimes/_package.ts';
import { runtimeBinary } from '../runtimes/_runtimes.ts';
import { postPrompt, TOKENS } from './_chat.ts';
import { exampleWorkspace, run, type Started, start } from './_workspace.ts';

const workspace = exampleWorkspace();
const dir = workspace.example('netlify');

// Netlify's router, in Deno: `/edge/chat` runs the edge function with (request, context), and the
// edge function's fetch of `/api/chat` on its own origin goes to the function (Node, elsewhere).
const EDGE_HARNESS = `import relay from './netlify/edge-functions/chat-relay.ts';
const functionOrigin = Deno.env.get('FUNCTION_ORIGIN');
Deno.serve({ hostname: '127.0.0.1', port: 0, onListen: ({ port }) => console.log('listening on http://127.0.0.1:' + port) },
  async (request, info) => {
    const url = new URL(request.url);
    if (url.pathname === '/api/chat') {
      return fetch(new URL(url.pathname, functionOrigin), {
        method: request.method, headers: request.headers, body: await request.arrayBuffer(), signal: request.signal,
      });
    }
    if (url.pathname !== '/edge/chat') return new Response('Not found', { status: 404 });
    const context = {
      ip: info.remoteAddr.hostname, requestId: crypto.randomUUID(), url, params: {},
      geo: {}, site: { id: 'local', name: 'local', url: url.origin }, account: { id: 'local' },
      deploy: { context: 'dev', id: 'local', published: false }, server: { region: 'local' },
      cookies: { get: () => undefined, set: () => {}, delete: () => {} },
      next: () => fetch(request), waitUntil: () => {}, json: Response.json, log: console.log,
    };
    return (await relay(request, context)) ?? new Response(null, { status: 204 });
  });
`;

describe('examples/netlify', () => {
  let functionServer: Server;
  let edge: Started;
  let edgeUrl: string;
  let bundleDir: string;
  const modelStopped = vi.fn();

  beforeAll(async () => {
    run('npm', ['run', 'typecheck'], dir);
    bundleDir = mkdtempSync(join(tmpdir(), 'ssekit-netlify-'));
    await build({
      entryPoints: [join(dir, 'netlify', 'functions', 'chat.ts')],
      outfile: join(bundleDir, 'chat.mjs'),
      bundle: true,
      platform: 'node',
      format: 'esm',
      logLevel: 'warning',
    });
    const fn = (await import(pathToFileURL(join(bundleDir, 'chat.mjs')).href)) as {
      default: (request: Request, context: unknown) => Promise<Response>;
      config: { path: string };
    };
    expect(fn.config.path).toBe('/api/chat');
    const { toNodeHandler } = (await import(
      pathToFileURL(join(workspace.root, 'node_modules', 'ssekit', 'dist', 'adapters', 'node.js'))
        .href
    )) as typeof import('../../src/adapters/node.ts');
    const log = console.log;
    vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
      if (String(args[0]).includes('the model stopped')) modelStopped();
      else log(...args);
    });
    functionServer = createServer(toNodeHandler((request) => fn.default(request, {})));
    await new Promise<void>((resolve) => functionServer.listen(0, '127.0.0.1', resolve));
    const { port } = functionServer.address() as { port: number };
    writeFileSync(join(dir, 'edge-harness.ts'), EDGE_HARNESS);
    edge = start(
      runtimeBinary('deno'),
      ['run', '--allow-net', '--allow-env', '--allow-read', '--no-prompt', 'edge-harness.ts'],
      dir,
      {
        FUNCTION_ORIGIN: `http://127.0.0.1:${port}`,
        DENO_DIR: join(bundleDir, 'deno'),
        NO_COLOR: '1',
      },
    );
    edgeUrl = `${(await edge.waitFor(/listening on (\S+)/))[1]}/edge/chat`;
  });

  afterAll(async () => {
    vi.restoreAllMocks();
    await edge?.stop();
    functionServer?.closeAllConnections();
    await new Promise((resolve) =>
      functionServer ? functionServer.close(resolve) : resolve(null),
    );
    if (bundleDir) rmSync(bundleDir, { recursive: true, force: true });
  });

  test('the edge function (Deno) relays the function stream token by token', async () => {
    const { events } = await readAll(await fetch(edgeUrl, postPrompt('Why SSE?')));
    expect(events.filter((event) => event.type === 'token').map((event) => event.data)).toEqual(
      TOKENS,
    );
    expect(events.at(-1)?.type).toBe('done');
  });

  test("the function's JSON errors pass through the edge as they are", async () => {
    const response = await fetch(edgeUrl, postPrompt(''));
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: 'bad-request' } });
  });

  test("the browser leaving the edge stops the function's model", async () => {
    modelStopped.mockClear();
    const leave = new AbortController();
    const response = await fetch(edgeUrl, postPrompt('Why SSE?', leave.signal));
    expect(await readSome(response, 1)).toEqual([{ type: 'token', data: TOKENS[0], id: '' }]);
    leave.abort();
    await vi.waitFor(() => expect(modelStopped).toHaveBeenCalled(), { timeout: 5000 });
  });

  test("the function dying mid-stream ends the browser's stream with an error event", async () => {
    const response = await fetch(edgeUrl, postPrompt('Why SSE?'));
    const reading = readAll(response);
    await new Promise((resolve) => setTimeout(resolve, 60));
    functionServer.closeAllConnections();
    const { events } = await reading;
    expect(events.at(-1)?.type).toBe('error');
    expect(events.filter((event) => event.type === 'token').length).toBeLessThan(TOKENS.length);
  });
});
