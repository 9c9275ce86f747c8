/**
 * The `ssekit` executable once as a real process: what only a process can show is that it stays
 * alive while it waits to reconnect (the client's timers are unref'd), that stdout reaches a pipe,
 * and that SIGINT closes the stream and exits 130.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, test } from 'vitest';
import { startServer, type TestServer, writeEventStreamHead } from '../helpers/http-server.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
let server: TestServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

test('bin: streams, reconnects with Last-Event-ID, and exits 130 on SIGINT', async () => {
  const seen: Array<string | undefined> = [];
  server = await startServer((req, res) => {
    seen.push(req.headers['last-event-id'] as string | undefined);
    writeEventStreamHead(res);
    if (seen.length === 1) {
      // A 50 ms reconnection window: with nothing ref'd, the process would exit in it.
      res.write('retry: 50\nid: 1\ndata: {"n":1}\n\n', () => res.destroy());
      return;
    }
    res.write('id: 2\ndata: {"n":2}\n\n'); // then held open until the client goes
  });
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/bin.ts', `${server.url}/events`, '--json'],
    { cwd: root, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  await new Promise<void>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (stdout.includes('"n":2')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`exited early (${code}): ${stderr}`)));
  });
  child.kill('SIGINT');
  expect(await exited).toBe(130);
  expect(stdout).toBe(
    '{"type":"message","id":"1","data":"{\\"n\\":1}","json":{"n":1}}\n' +
      '{"type":"message","id":"2","data":"{\\"n\\":2}","json":{"n":2}}\n',
  );
  expect(stderr).toMatch(/reconnecting in \d+ ms \(retry 1 of 9\), resuming after id "1"/);
  expect(seen).toEqual([undefined, '1']);
  await server.waitForAborts(2);
});
