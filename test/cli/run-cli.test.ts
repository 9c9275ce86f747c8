/**
 * `runCli` in-process, with captured stdout/stderr, against a real node:http server.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { exitCodes } from '../../src/cli/exit-codes.ts';
import { HELP, readVersion } from '../../src/cli/help.ts';
import { type CliIo, type CliWritable, runCli } from '../../src/cli/main.ts';
import {
  type NodeHandler,
  readBody,
  serverPerTest,
  writeEventStreamHead,
} from '../helpers/http-server.ts';

const servers = serverPerTest();
const { serve } = servers;

interface Captured extends CliWritable {
  readonly bytes: Buffer;
  readonly text: string;
  /** Resolves once the output contains `text`. */
  waitFor(text: string): Promise<void>;
}

function capture(isTTY = false): Captured {
  const chunks: Buffer[] = [];
  const waiters: Array<() => void> = [];
  const output: Captured = {
    isTTY,
    write(chunk) {
      chunks.push(Buffer.from(chunk));
      for (const waiter of waiters.splice(0)) waiter();
      return true;
    },
    get bytes() {
      return Buffer.concat(chunks);
    },
    get text() {
      return Buffer.concat(chunks).toString('utf8');
    },
    waitFor: (text) =>
      new Promise((resolve) => {
        const check = () => (output.text.includes(text) ? resolve() : waiters.push(check));
        check();
      }),
  };
  return output;
}

async function run(args: string[], io: Partial<CliIo> = {}) {
  const stdout = io.stdout ?? capture();
  const stderr = io.stderr ?? capture();
  const code = await runCli(args, { env: {}, ...io, stdout, stderr });
  return {
    code,
    stdout: (stdout as Captured).text,
    bytes: (stdout as Captured).bytes,
    stderr: (stderr as Captured).text,
  };
}

/** A request as the server saw it. */
interface Seen {
  method: string | undefined;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

describe('output', () => {
  const stream: NodeHandler = (_req, res) => {
    writeEventStreamHead(res);
    res.write(': heartbeat\n\n');
    res.write('event: token\nid: a1\ndata: {"text":"Hé"}\n\n');
    res.write('data: line one\r\ndata: line two\r\n\r\n');
    res.write('id: a2\ndata: [1, 2]\n\n');
    res.end('event: done\ndata: {"usage":3}\n\n');
  };

  test('prints named events, multi-line data and ids readably, then the terminal event', async () => {
    const { url } = await serve(stream);
    const result = await run([url]);
    expect(result).toMatchObject({ code: exitCodes.ok, stderr: '' });
    expect(result.stdout).toBe(
      [
        'token  id: a1\n{"text":"Hé"}\n',
        'message  id: a1\nline one\nline two\n',
        'message  id: a2\n[1, 2]\n',
        'done  id: a2\n{"usage":3}\n',
        '',
      ].join('\n'),
    );
  });

  test('--json prints one NDJSON object per event, with `json` when the data parses', async () => {
    const { url } = await serve(stream);
    const result = await run([url, '--json']);
    expect(result).toMatchObject({ code: exitCodes.ok, stderr: '' });
    expect(result.stdout.split('\n')).toEqual([
      '{"type":"token","id":"a1","data":"{\\"text\\":\\"Hé\\"}","json":{"text":"Hé"}}',
      '{"type":"message","id":"a1","data":"line one\\nline two"}',
      '{"type":"message","id":"a2","data":"[1, 2]","json":[1,2]}',
      '{"type":"done","id":"a2","data":"{\\"usage\\":3}","json":{"usage":3}}',
      '',
    ]);
  });

  test('--raw prints the bytes of the stream exactly as received', async () => {
    const euro = Buffer.from('€');
    const chunks = [
      Buffer.from(': comment\r\nretry: 5000\r\n\r\nevent: a\r\nid: 1\r\ndata: x'),
      Buffer.concat([euro.subarray(0, 1)]), // a multibyte character split across writes
      Buffer.concat([euro.subarray(1), Buffer.from('\r\n\r\ndata: [DONE]\n\n')]),
    ];
    const { url } = await serve(async (_req, res) => {
      writeEventStreamHead(res);
      for (const chunk of chunks) await new Promise((resolve) => res.write(chunk, resolve));
      res.end();
    });
    const result = await run([url, '--raw']);
    expect(result).toMatchObject({ code: exitCodes.ok, stderr: '' });
    expect(result.bytes.equals(Buffer.concat(chunks))).toBe(true);
  });

  test('--raw still reconnects with Last-Event-ID, printing each connection’s bytes', async () => {
    const seen: Array<string | undefined> = [];
    const { url } = await serve((req, res) => {
      seen.push(req.headers['last-event-id'] as string | undefined);
      writeEventStreamHead(res);
      if (seen.length === 1) res.end('id: 1\ndata: one\n\nretry: 5\n\n');
      else res.end('id: 2\ndata: two\n\nevent: done\ndata:\n\n');
    });
    const result = await run([url, '--raw']);
    expect(result.code).toBe(exitCodes.ok);
    expect(result.stdout).toBe(
      'id: 1\ndata: one\n\nretry: 5\n\nid: 2\ndata: two\n\nevent: done\ndata:\n\n',
    );
    expect(seen).toEqual([undefined, '1']);
    expect(result.stderr).toBe(
      'ssekit: the server ended the response and asked to be resumed\nssekit: resuming in 5 ms after id "1"\nssekit: resumed (HTTP 200)\n',
    );
  });

  test('on a terminal: coloured, JSON indented, control characters escaped; NO_COLOR', async () => {
    const { url } = await serve((_req, res) => {
      writeEventStreamHead(res);
      res.end('event: tok\x1b[2Jen\nid: 7\ndata: {"a":[1,null]}\n\nevent: done\ndata:\n\n');
    });
    const coloured = await run([url], { stdout: capture(true) });
    expect(coloured.stdout).toBe(
      '\x1b[1;36mtok\\x1b[2Jen\x1b[39;22m  \x1b[2mid: 7\x1b[22m\n' +
        '{\n  \x1b[36m"a"\x1b[39m: [\n    \x1b[33m1\x1b[39m,\n    \x1b[35mnull\x1b[39m\n  ]\n}\n\n' +
        '\x1b[1;36mdone\x1b[39;22m  \x1b[2mid: 7\x1b[22m\n\n',
    );
    const plain = await run([url], { stdout: capture(true), env: { NO_COLOR: '1' } });
    expect(plain.stdout).toBe(
      'tok\\x1b[2Jen  id: 7\n{\n  "a": [\n    1,\n    null\n  ]\n}\n\ndone  id: 7\n\n',
    );
  });

  test('FORCE_COLOR colours a pipe (data kept as sent); NO_COLOR alone does not', async () => {
    const { url } = await serve((_req, res) => {
      writeEventStreamHead(res);
      res.end('data: {"a":1}\n\ndata: [DONE]\n\n');
    });
    const forced = await run([url], { env: { FORCE_COLOR: '1', NO_COLOR: '1' } });
    expect(forced.stdout).toBe(
      '\x1b[1;36mmessage\x1b[39;22m\n{"a":1}\n\n\x1b[1;36mmessage\x1b[39;22m\n[DONE]\n\n',
    );
    const piped = await run([url]);
    expect(piped.stdout).toBe('message\n{"a":1}\n\nmessage\n[DONE]\n\n');
  });
});

describe('request', () => {
  async function recorder(): Promise<{ url: string; seen: Seen[] }> {
    const seen: Seen[] = [];
    const { url } = await serve(async (req, res) => {
      seen.push({ method: req.method, headers: req.headers, body: await readBody(req) });
      writeEventStreamHead(res);
      res.end('event: done\ndata:\n\n');
    });
    return { url, seen };
  }

  test('-H headers, -d JSON (POST, application/json) and --last-event-id arrive', async () => {
    const { url, seen } = await recorder();
    const result = await run([
      `${url}/chat`,
      '-H',
      'Authorization: Bearer abc:def',
      '-H',
      'X-Trace:  1 ',
      '-d',
      '{"prompt":"Hi ✓"}',
      '--last-event-id',
      'run-1:7',
    ]);
    expect(result.code).toBe(exitCodes.ok);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ method: 'POST', body: '{"prompt":"Hi ✓"}' });
    expect(seen[0]!.headers).toMatchObject({
      authorization: 'Bearer abc:def',
      'x-trace': '1',
      'content-type': 'application/json',
      'last-event-id': 'run-1:7',
      accept: 'text/event-stream',
    });
  });

  test('-d text is sent as text/plain; -H content-type wins; -X changes the method', async () => {
    const { url, seen } = await recorder();
    await run([url, '-d', 'hello']);
    await run([url, '-X', 'put', '-d', '{"a":1}', '-H', 'content-type: application/x-ndjson']);
    expect(
      seen.map(({ method, body, headers }) => [method, body, headers['content-type']]),
    ).toEqual([
      ['POST', 'hello', 'text/plain;charset=UTF-8'],
      ['PUT', '{"a":1}', 'application/x-ndjson'],
    ]);
  });

  test('-d @file reads a file and -d @- reads stdin', async () => {
    const { url, seen } = await recorder();
    const dir = mkdtempSync(join(tmpdir(), 'ssekit-cli-'));
    writeFileSync(join(dir, 'body.json'), '{"from":"file"}\n');
    writeFileSync(join(dir, 'body.bin'), Buffer.from([0xff, 0x00, 0xfe]));
    await run([url, '-d', `@${join(dir, 'body.json')}`]);
    await run([url, '-d', '@-'], { stdin: Readable.from([Buffer.from('{"from":'), '"stdin"}']) });
    await run([url, '-d', `@${join(dir, 'body.bin')}`]);
    expect(
      seen.map(({ method, body, headers }) => [method, body, headers['content-type']]),
    ).toEqual([
      ['POST', '{"from":"file"}\n', 'application/json'],
      ['POST', '{"from":"stdin"}', 'application/json'],
      ['POST', '\ufffd\0\ufffd', 'application/octet-stream'],
    ]);
  });
});

describe('failures and exit codes', () => {
  test('HTTP 401: exit 22, status and body on stderr, nothing on stdout', async () => {
    const { url } = await serve((_req, res) => {
      res.writeHead(401, 'Unauthorized', { 'content-type': 'application/json' });
      res.end('{"error":"token expired"}');
    });
    const result = await run([`${url}/events`]);
    expect(result.code).toBe(exitCodes.httpError);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `ssekit: Request failed with status 401 Unauthorized: GET ${url}/events\n` +
        'ssekit: {"error":"token expired"}\n',
    );
  });

  test('a 200 that is not an event stream: exit 22', async () => {
    const { url } = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<h1>Login</h1>');
    });
    const result = await run([url, '--raw']);
    expect(result).toMatchObject({ code: exitCodes.httpError, stdout: '' });
    expect(result.stderr).toContain('Expected content-type text/event-stream but received');
    expect(result.stderr).toContain('<h1>Login</h1>');
  });

  test('a dropped connection: a notice on stderr, then resumes with Last-Event-ID', async () => {
    const seen: Array<string | undefined> = [];
    const { url } = await serve((req, res) => {
      seen.push(req.headers['last-event-id'] as string | undefined);
      writeEventStreamHead(res);
      if (seen.length === 1) {
        res.write('retry: 10\nid: 1\ndata: one\n\nid: 2\ndata: cut', () => res.destroy());
        return;
      }
      res.end(`id: 2\ndata: two\n\nevent: done\ndata:\n\n`);
    });
    const result = await run([url, '--json']);
    expect(result.code).toBe(exitCodes.ok);
    expect(seen).toEqual([undefined, '1']);
    expect(result.stdout.split('\n').map((line) => line && JSON.parse(line).data)).toEqual([
      'one',
      'two',
      '',
      '',
    ]);
    expect(result.stderr).toMatch(
      /^ssekit: connection lost: terminated \(other side closed\)\nssekit: reconnecting in \d+ ms \(retry 1 of 9\), resuming after id "1"\nssekit: reconnected \(HTTP 200\)\n$/,
    );
  });

  test('--retry 0: the end of the body ends the stream (exit 0); a drop after events is a cut (exit 18)', async () => {
    const ended = await serve((_req, res) => {
      writeEventStreamHead(res);
      res.end('data: only\n\n');
    });
    expect(await run([ended.url, '--retry', '0'])).toMatchObject({
      code: exitCodes.ok,
      stdout: 'message\nonly\n\n',
      stderr: '',
    });
    expect(ended.requests).toBe(1);
    await servers.current!.close();

    const dropped = await serve((_req, res) => {
      writeEventStreamHead(res);
      res.write('retry: 1\ndata: one\n\n', () => res.destroy());
    });
    const result = await run([dropped.url, '--retry', '0']);
    expect(result).toMatchObject({ code: exitCodes.streamCut, stdout: 'message\none\n\n' });
    expect(result.stderr).toBe(
      `ssekit: The event stream was cut after 1 event and cannot be resumed: reconnection is off (retry: false): GET ${dropped.url}/. Cut by: terminated (other side closed)\n`,
    );
    expect(dropped.requests).toBe(1);
  });

  test('--retry 2: gives up after 2 reconnections (exit 4), showing the last failure', async () => {
    const counted = await serve((_req, res) => {
      res.writeHead(503, { 'retry-after': '0', 'content-type': 'text/plain' });
      res.end('overloaded');
    });
    const { url } = counted;
    const result = await run([url, '--retry', '2']);
    expect(result.code).toBe(exitCodes.retryLimit);
    expect(counted.requests).toBe(3);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines.filter((line) => line.includes('reconnecting in 0 ms'))).toEqual([
      'ssekit: reconnecting in 0 ms (retry 1 of 2)',
      'ssekit: reconnecting in 0 ms (retry 2 of 2)',
    ]);
    expect(lines.slice(-2)).toEqual([
      `ssekit: Gave up after 3 failed attempts (maxAttempts (3) reached): GET ${url}/. Last failure: Request failed with status 503 Service Unavailable: GET ${url}/`,
      'ssekit: overloaded',
    ]);
  });

  test('a network error with --retry 0: exit 1 with the reason', async () => {
    const closed = await serve(() => {});
    await closed.close();
    const result = await run([closed.url, '--retry', '0']);
    expect(result.code).toBe(exitCodes.failure);
    expect(result.stderr).toBe(
      `ssekit: fetch failed (connect ECONNREFUSED 127.0.0.1:${closed.port})\n`,
    );
  });

  test('event: error from the server: exit 3, the event on stdout, its message on stderr', async () => {
    const { url } = await serve((_req, res) => {
      writeEventStreamHead(res);
      res.end('data: partial\n\nevent: error\ndata: {"message":"model overloaded"}\n\n');
    });
    const result = await run([url]);
    expect(result).toEqual({
      code: exitCodes.serverError,
      stdout: 'message\npartial\n\nerror\n{"message":"model overloaded"}\n\n',
      bytes: expect.any(Buffer),
      stderr: 'ssekit: the server sent an error event: model overloaded\n',
    });
  });

  test('HTTP 204: nothing to stream, exit 0', async () => {
    const { url } = await serve((_req, res) => res.writeHead(204).end());
    expect(await run([url])).toMatchObject({ code: exitCodes.ok, stdout: '', stderr: '' });
  });

  test('--timeout: stops a stream that runs too long (exit 28) and closes the connection', async () => {
    const held = await serve((_req, res) => {
      writeEventStreamHead(res);
      res.write('data: first\n\n'); // then nothing, for ever
    });
    const result = await run([held.url, '--timeout', '150']);
    expect(result).toEqual({
      code: exitCodes.timeout,
      stdout: 'message\nfirst\n\n',
      bytes: expect.any(Buffer),
      stderr: 'ssekit: timed out after 150 ms (--timeout)\n',
    });
    await held.waitForAborts(1);
  });

  test('--idle-timeout: reconnects a stalled stream; with --retry 0 it exits 28', async () => {
    let count = 0;
    const { url } = await serve((_req, res) => {
      writeEventStreamHead(res);
      if (++count % 2 === 1) res.write('retry: 5\nid: 1\ndata: stalls\n\n');
      else res.end('event: done\ndata:\n\n');
    });
    const resumed = await run([url, '--idle-timeout', '100']);
    expect(resumed.code).toBe(exitCodes.ok);
    expect(resumed.stdout).toBe('message  id: 1\nstalls\n\ndone  id: 1\n\n');
    expect(resumed.stderr).toContain(
      `ssekit: connection lost: No event arrived within idleTimeoutMs (100 ms): GET ${url}/\n`,
    );

    const stalled = await run([url, '--idle-timeout', '100', '--retry', '0']);
    expect(stalled).toMatchObject({
      code: exitCodes.timeout,
      stdout: 'message  id: 1\nstalls\n\n',
      stderr: `ssekit: The event stream was cut after 1 event and cannot be resumed: reconnection is off (retry: false): GET ${url}/. Cut by: No event arrived within idleTimeoutMs (100 ms): GET ${url}/\n`,
    });
  });

  test('an interrupt (SIGINT) closes the stream cleanly: exit 130, nothing on stderr', async () => {
    const held = await serve((_req, res) => {
      writeEventStreamHead(res);
      res.write('data: first\n\n');
    });
    const interrupt = new AbortController();
    const stdout = capture();
    const running = run([held.url], { stdout, signal: interrupt.signal });
    await stdout.waitFor('first');
    interrupt.abort();
    expect(await running).toMatchObject({
      code: exitCodes.interrupted,
      stdout: 'message\nfirst\n\n',
      stderr: '',
    });
    await held.waitForAborts(1);
  });
});

describe('command line', () => {
  test('--help prints the usage; --version the package version', async () => {
    expect(await run(['--help'])).toMatchObject({ code: 0, stdout: HELP, stderr: '' });
    expect(await run(['-h', 'http://ignored'])).toMatchObject({ code: 0, stdout: HELP });
    expect(readVersion()).toMatch(/^\d+\.\d+\.\d+/);
    expect(await run(['--version'])).toMatchObject({ code: 0, stdout: `${readVersion()}\n` });
  });

  test.each([
    [[], 'Missing the URL.'],
    [['http://a', 'http://b'], 'Expected one URL, got 2: http://a http://b'],
    [['http://a', '--nope'], "Unknown option '--nope'"],
    [['http://a', '-X'], "Option '-X, --request <value>' argument missing"],
    [['http://a', '--json', '--raw'], '--json and --raw cannot be combined.'],
    [['http://a', '-X', 'GET', '-d', '{}'], '-X GET cannot send a body (-d)'],
    [['http://a', '-X', 'GE T'], '-X "GE T" is not an HTTP method.'],
    [['http://a', '-d', 'a', '-d', 'b'], '-d can be given once, got it 2 times.'],
    [['http://a', '-H', 'NoColon'], `-H "NoColon" is not a header; use -H 'Name: value'.`],
    [['http://a', '-H', 'X-A: é€'], "-H 'X-A: é€':"],
    [['http://a', '--retry', '-1'], "Option '--retry' argument is ambiguous."],
    [
      ['http://a', '--retry=-1'],
      '--retry takes a whole number of reconnections (at least 0), got -1.',
    ],
    [['http://a', '--retry', '1.5'], '--retry takes a whole number of reconnections (at least 0)'],
    [['http://a', '--timeout', '0'], '--timeout takes a whole number of milliseconds (at least 1)'],
    [['http://a', '--idle-timeout', 'soon'], '--idle-timeout takes a whole number of milliseconds'],
    [['ftp://example.com/x'], 'Only http and https URLs are supported, got ftp:'],
    [['http://[::1'], 'Invalid URL: http://[::1'],
    [['http://a', '-d', '@/nonexistent/body.json'], '-d @/nonexistent/body.json: cannot read'],
  ])('usage error %j: exit 2', async (args, message) => {
    const result = await run(args);
    expect(result.code).toBe(exitCodes.usage);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`ssekit: ${message}`);
    expect(result.stderr).toMatch(/\nssekit: Run 'ssekit --help' for usage\.\n$/);
  });

  test('a URL without a scheme means http://, as in curl', async () => {
    const { port } = await serve((_req, res) => {
      writeEventStreamHead(res);
      res.end('data: hi\n\nevent: done\ndata:\n\n');
    });
    expect(await run([`127.0.0.1:${port}/events`, '--json'])).toMatchObject({
      code: exitCodes.ok,
      stdout: '{"type":"message","id":"","data":"hi"}\n{"type":"done","id":"","data":""}\n',
    });
  });
});
