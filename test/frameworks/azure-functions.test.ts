/**
 * examples/azure-functions as users get it: installed from the packed tarball, built with `tsc`
 * against the real `@azure/functions` types (ESM, NodeNext, no DOM lib), and its handler called
 * with a real `HttpRequest` and `InvocationContext` from that install.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as Azure from '@azure/functions';
import { afterAll, beforeAll, describe, expect, type MockInstance, test, vi } from 'vitest';
import { readAll } from '../runtimes/_package.ts';
import { TOKENS } from './_chat.ts';
import { exampleWorkspace, run } from './_workspace.ts';

const workspace = exampleWorkspace();
const dir = workspace.example('azure-functions');

type Logged = [level: string, ...args: unknown[]];

describe('examples/azure-functions', () => {
  let azure: typeof Azure;
  let chatHandler: Azure.HttpHandler;
  let consoleError: MockInstance<typeof console.error>;
  beforeAll(async () => {
    run('npm', ['run', 'build'], dir);
    // Watched before the adapter loads: it routes ssekit's logs around whatever console.error is.
    consoleError = vi.spyOn(console, 'error').mockImplementation(() => {});
    // The same @azure/functions the example resolves, and the handler as compiled.
    const azureEntry = join(
      workspace.root,
      'node_modules',
      '@azure',
      'functions',
      'dist',
      'azure-functions.js',
    );
    azure = (await import(pathToFileURL(azureEntry).href)) as typeof Azure;
    ({ chatHandler } = await import(pathToFileURL(join(dir, 'dist', 'src', 'handler.js')).href));
  });
  afterAll(() => consoleError?.mockRestore());

  function invoke(prompt: string, logged: Logged[]) {
    return chatHandler(
      new azure.HttpRequest({
        method: 'POST',
        url: 'http://localhost:7071/api/chat',
        headers: { 'content-type': 'application/json' },
        body: { string: JSON.stringify({ prompt }) },
      }),
      new azure.InvocationContext({
        functionName: 'chat',
        invocationId: 'test-invocation',
        logHandler: (level, ...args) => logged.push([level, ...args]),
      }),
    );
  }

  test('the handler streams the answer when called with an HttpRequest', async () => {
    const logged: Logged[] = [];
    const result = await invoke('Why SSE?', logged);
    expect(result.status).toBe(200);
    expect(new Headers(result.headers as HeadersInit).get('content-type')).toMatch(
      /^text\/event-stream/,
    );
    const { events } = await readAll(new Response(result.body as ReadableStream<Uint8Array>));
    expect(events.filter((event) => event.type === 'token').map((event) => event.data)).toEqual(
      TOKENS,
    );
    expect(events.at(-1)?.type).toBe('done');
    expect(logged).toEqual([]);
  });

  test("a producer's error goes to the invocation's logger, not console.error", async () => {
    consoleError.mockClear();
    {
      const logged: Logged[] = [];
      const result = await invoke('fail', logged);
      const { events } = await readAll(new Response(result.body as ReadableStream<Uint8Array>));
      expect(events.map((event) => event.type)).toEqual(['token', 'token', 'error']);
      expect(events.at(-1)?.data).toBe('{"message":"Internal server error"}');
      expect(logged).toHaveLength(1);
      const [level, ...args] = logged[0]!;
      expect(level).toBe('error');
      expect(String(args[0])).toMatch(/^ssekit:/);
      expect(
        args.some((arg) => arg instanceof Error && /the model crashed/.test(arg.message)),
      ).toBe(true);
      expect(consoleError).not.toHaveBeenCalled();
    }
  });

  test('bad requests get JSON errors', async () => {
    const result = await chatHandler(
      new azure.HttpRequest({
        method: 'POST',
        url: 'http://localhost:7071/api/chat',
        headers: { 'content-type': 'text/plain' },
        body: { string: 'hi' },
      }),
      new azure.InvocationContext({ functionName: 'chat' }),
    );
    expect(result.status).toBe(415);
    expect(await new Response(result.body as ReadableStream<Uint8Array>).json()).toMatchObject({
      error: { code: 'unsupported-media-type' },
    });
  });
});
