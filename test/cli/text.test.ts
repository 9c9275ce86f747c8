/**
 * `ssekit --text` and the resume rule through the CLI, in-process against real servers writing
 * byte-accurate provider streams: only the text of the token deltas, exit 0, one request; a cut
 * POST without ids exits 18; a planned deadline resume is reported as resuming.
 */
import { describe, expect, test } from 'vitest';
import { exitCodes } from '../../src/cli/exit-codes.ts';
import { type CliWritable, runCli } from '../../src/cli/main.ts';
import { readBody, serverPerTest, writeEventStreamHead } from '../helpers/http-server.ts';
import { providerStreams, serveWire } from '../helpers/provider-streams.ts';

const servers = serverPerTest();
const { serve } = servers;

function capture(isTTY = false): CliWritable & { readonly text: string } {
  let text = '';
  return {
    isTTY,
    write(chunk) {
      text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      return true;
    },
    get text() {
      return text;
    },
  };
}

async function run(args: string[], isTTY = false) {
  const stdout = capture(isTTY);
  const stderr = capture();
  const code = await runCli(args, { stdout, stderr, env: {} });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

describe.each(providerStreams())('--text: $name', (stream) => {
  test('prints exactly the text, exit 0, one request (POST)', async () => {
    const server = await serve(serveWire(stream, { hold: true }));
    const result = await run([server.url, '-d', '{"stream":true}', '--text']);
    expect(result).toEqual({ code: exitCodes.ok, stdout: stream.text, stderr: '' });
    expect(server.requests).toBe(1);
  });

  test('GET, and a final newline on a terminal', async () => {
    const server = await serve(serveWire(stream));
    const result = await run([server.url, '--text'], true);
    expect(result).toEqual({ code: exitCodes.ok, stdout: `${stream.text}\n`, stderr: '' });
    expect(server.requests).toBe(1);
  });
});

describe('the resume rule through the CLI', () => {
  test('plain text tokens as sent, quotes and braces included', async () => {
    const server = await serve((_req, res) => {
      writeEventStreamHead(res);
      res.end(
        'event: token\ndata: He said "yes" and\n\nevent: token\ndata: {} \n\nevent: token\ndata: "ok"\n\n',
      );
    });
    expect(await run([server.url, '--text'])).toEqual({
      code: exitCodes.ok,
      stdout: 'He said "yes" and{} "ok"',
      stderr: '',
    });
    expect(server.requests).toBe(1);
  });

  test('a POST cut without ids: exit 18 after one request, with the reason', async () => {
    const server = await serve(async (req, res) => {
      await readBody(req);
      writeEventStreamHead(res);
      res.write('data: {"text":"par"}\n\ndata: {"te', () => res.destroy());
    });
    const result = await run([server.url, '-d', '{}', '--text']);
    expect(result.code).toBe(exitCodes.streamCut);
    expect(result.stdout).toBe('par');
    expect(result.stderr).toMatch(
      /^ssekit: The event stream was cut after 1 event and cannot be resumed/,
    );
    expect(server.requests).toBe(1);
  });

  test('a planned deadline resume is reported as resuming, not as a lost connection', async () => {
    const seen: Array<string | undefined> = [];
    const server = await serve(async (req, res) => {
      await readBody(req);
      seen.push(req.headers['last-event-id'] as string | undefined);
      writeEventStreamHead(res);
      if (seen.length === 1) res.end('id: r.1\ndata: {"text":"Hel"}\n\nretry: 5\n\n');
      else res.end('id: r.2\ndata: {"text":"lo"}\n\nevent: done\ndata: {}\n\n');
    });
    const result = await run([server.url, '-d', '{"q":1}', '--text']);
    expect(result.code).toBe(exitCodes.ok);
    expect(result.stdout).toBe('Hello');
    expect(result.stderr).toBe(
      'ssekit: the server ended the response and asked to be resumed\nssekit: resuming in 5 ms after id "r.1"\nssekit: resumed (HTTP 200)\n',
    );
    expect(result.stderr).not.toContain('connection lost');
    expect(seen).toEqual([undefined, 'r.1']);
  });

  test('--text, --json and --raw exclude each other; --idle-timeout takes auto', async () => {
    const both = await run(['http://a', '--text', '--json']);
    expect(both.code).toBe(exitCodes.usage);
    expect(both.stderr).toContain('--json and --text cannot be combined.');
    const server = await serve((_req, res) => {
      writeEventStreamHead(res);
      res.end('data: a\n\n');
    });
    expect(await run([server.url, '--idle-timeout', 'auto', '--text'])).toEqual({
      code: exitCodes.ok,
      stdout: 'a',
      stderr: '',
    });
    const bad = await run(['http://a', '--idle-timeout', 'soon']);
    expect(bad.stderr).toContain(
      "--idle-timeout takes a whole number of milliseconds (at least 1) or 'auto', got soon.",
    );
  });
});
