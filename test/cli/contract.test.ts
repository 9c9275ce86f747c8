/**
 * `ssekit --contract FILE#NAME` against a real node:http server: every event checked, each
 * violation on stderr with its code, event name, id and issue, exit 5; bad contract modules are
 * usage errors before any request. Then as a real process of the bundled CLI on plain Node (no
 * loader): a .mjs module, a .ts module through the project's tsx, and a .ts module outside any
 * project (a usage error that says how).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { exitCodes } from '../../src/cli/exit-codes.ts';
import { type CliWritable, runCli } from '../../src/cli/main.ts';
import { type NodeHandler, serverPerTest, writeEventStreamHead } from '../helpers/http-server.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
// Inside the repository, so that the modules' imports (zod, tsx, ssekit's source) resolve as they
// would in a project; node_modules/.cache is ignored by git.
const dir = join(root, 'node_modules/.cache/ssekit-cli-contract');
const contractSource = relative(dir, join(root, 'src/contract/index.ts'));
const { serve } = serverPerTest();
/** Node 22.18+ loads .ts itself: the fallback to the project's tsx is for the Nodes before. */
const typeStripping = Boolean((process.features as { typescript?: unknown }).typescript);

const CHAT = `
import { z } from 'zod';
import { defineContract } from '${contractSource}';

export const chat = defineContract({
  token: z.object({ text: z.string() }),
  done: z.object({ finishReason: z.enum(['stop', 'length']) }),
});
export const lenient = defineContract({ token: z.object({ text: z.string() }) }, { unknownEvents: 'ignore' });
export const notAContract = { events: 'no' };
`;

beforeAll(() => {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'chat.ts'), CHAT);
  writeFileSync(
    join(dir, 'single.ts'),
    `import { z } from 'zod';\nimport { defineContract } from '${contractSource}';\nexport const only = defineContract({ token: z.object({ text: z.string() }) });\n`,
  );
  writeFileSync(join(dir, 'broken.ts'), `throw new Error('contract module exploded');\n`);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function capture(): CliWritable & { text: string } {
  const output = {
    text: '',
    write(chunk: string | Uint8Array) {
      output.text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      return true;
    },
  };
  return output;
}

async function run(args: string[]) {
  const stdout = capture();
  const stderr = capture();
  const code = await runCli(args, { env: {}, stdout, stderr, cwd: dir });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

/** A server that sends `events` (wire text each) and counts its requests. */
async function serveEvents(events: string[]) {
  let requests = 0;
  const handler: NodeHandler = (_req, res) => {
    requests++;
    writeEventStreamHead(res);
    res.end(events.join(''));
  };
  const server = await serve(handler);
  return { url: `${server.url}/chat`, requests: () => requests };
}

const MIXED = [
  'event: token\nid: 1\ndata: {"text":"Hel"}\n\n',
  'event: token\nid: 2\ndata: {"text":42}\n\n',
  'event: usage\nid: 3\ndata: {"outputTokens":2}\n\n',
  'event: token\nid: 4\ndata: {"text":"lo"}\n\n',
  'event: done\nid: 5\ndata: {"finishReason":"stop"}\n\n',
];

describe('checking events', () => {
  test('each violation goes to stderr with its code, event, id and issue; the stream goes on; exit 5', async () => {
    const { url } = await serveEvents(MIXED);
    const result = await run([url, '--json', '--contract', './chat.ts#chat']);
    expect(result.code).toBe(exitCodes.contractViolation);
    expect(result.code).toBe(5);
    // Every event is printed, the faulty ones too.
    expect(
      result.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).id),
    ).toEqual(['1', '2', '3', '4', '5']);
    expect(result.stderr.split('\n')).toEqual([
      'ssekit: contract-violation: Event "token" (id 2) does not match the contract: text: Invalid input: expected string, received number.',
      'ssekit: contract-violation: Event "usage" is not in the contract (its events: token).',
      'ssekit: 2 of 5 events did not match the contract (--contract)',
      '',
    ]);
  });

  test('a stream that matches exits 0 and says nothing', async () => {
    const { url } = await serveEvents([MIXED[0]!, MIXED[3]!, MIXED[4]!]);
    const result = await run([url, '--contract', 'chat.ts#chat']);
    expect(result).toMatchObject({ code: exitCodes.ok, stderr: '' });
    expect(result.stdout).toContain('token  id: 4\n{"text":"lo"}\n');
  });

  test('the terminal done is checked by the done schema', async () => {
    const { url } = await serveEvents([
      MIXED[0]!,
      'event: done\nid: 2\ndata: {"finishReason":"tired"}\n\n',
    ]);
    const result = await run([url, '--text', '--contract', './chat.ts#chat']);
    expect(result.code).toBe(exitCodes.contractViolation);
    expect(result.stdout).toBe('Hel');
    expect(result.stderr).toMatch(
      /^ssekit: contract-violation: Event "done" \(id 2\) does not match the contract: finishReason: Invalid option: expected one of "stop"\|"length"\.\n/,
    );
    expect(result.stderr).toContain('1 of 2 events did not match');
  });

  test("unknownEvents: 'ignore' lets unknown events through; a module's only contract needs no name", async () => {
    const { url } = await serveEvents(MIXED);
    const lenient = await run([url, '--json', '--contract', './chat.ts#lenient']);
    expect(lenient.code).toBe(exitCodes.contractViolation);
    expect(lenient.stderr).not.toContain('usage');
    expect(lenient.stderr).toContain('Event "token" (id 2)');
    expect(lenient.stderr).toContain('1 of 5 events');

    const single = await run([url, '--json', '--contract', './single.ts']);
    expect(single.stderr).toContain('Event "token" (id 2)');
    expect(single.stderr).toContain('Event "usage" is not in the contract (its events: token)');
  });

  test('a failing stream keeps its own exit code; the violations are still reported', async () => {
    const { url } = await serveEvents([
      MIXED[1]!,
      'event: error\ndata: {"code":"internal","message":"model crashed"}\n\n',
    ]);
    const result = await run([url, '--contract', './chat.ts#chat']);
    expect(result.code).toBe(exitCodes.serverError);
    expect(result.stderr).toContain('contract-violation: Event "token" (id 2)');
    expect(result.stderr).toContain('1 of 1 event did not match');
    expect(result.stderr).toContain('the server sent an error event: model crashed');
  });
});

describe('bad contract modules are usage errors, before any request', () => {
  const cases: Array<[string, string]> = [
    ['./missing.ts', `--contract ./missing.ts: no such file (${join(dir, 'missing.ts')}).`],
    [
      './chat.ts#nope',
      '--contract ./chat.ts#nope: the module has no export "nope" (contracts: chat, lenient).',
    ],
    [
      './chat.ts#notAContract',
      '--contract ./chat.ts#notAContract: "notAContract" is not a contract made by defineContract() from ssekit/contract (contracts: chat, lenient).',
    ],
    [
      './chat.ts',
      '--contract ./chat.ts: the module exports several contracts (chat, lenient): name one, e.g. --contract ./chat.ts#chat.',
    ],
    ['./broken.ts', '--contract ./broken.ts: the module failed to load: contract module exploded'],
    [
      './chat.ts#1x',
      '--contract ./chat.ts#1x: "1x" is not an export name (write --contract ./contract.ts#chat).',
    ],
    ['#chat', "--contract #chat: the module's path is missing."],
  ];
  test.each(cases)('--contract %s', async (spec, message) => {
    const { url, requests } = await serveEvents(MIXED);
    const result = await run([url, '--contract', spec]);
    expect(result.code).toBe(exitCodes.usage);
    expect(result.stderr).toBe(`ssekit: ${message}\nssekit: Run 'ssekit --help' for usage.\n`);
    expect(requests()).toBe(0);
  });
});

describe('the real executable on plain Node (no loader)', () => {
  let bin: string;
  let outside: string;
  beforeAll(async () => {
    // The published CLI is compiled JavaScript: bundle it, so that Node runs it without tsx.
    bin = join(dir, 'ssekit.mjs');
    await build({
      entryPoints: [join(root, 'src/cli/bin.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile: bin,
      logLevel: 'error',
    });
    // A contract whose data is checked by a hand-written Standard Schema: it imports nothing.
    const schema = `{ '~standard': { version: 1, vendor: 'test', validate: (value) => typeof value?.text === 'string' ? { value } : { issues: [{ message: 'text must be a string', path: ['text'] }] } } }`;
    writeFileSync(
      join(dir, 'plain.mjs'),
      `export default { events: { token: ${schema} }, unknownEvents: 'error', title: undefined, description: undefined };\n`,
    );
    outside = mkdtempSync(join(tmpdir(), 'ssekit-contract-'));
    writeFileSync(
      join(outside, 'typed.ts'),
      `const unknownEvents: 'error' = 'error';\nexport default { events: {}, unknownEvents };\n`,
    );
  }, 60_000);
  afterAll(() => rmSync(outside, { recursive: true, force: true }));

  function spawnCli(
    args: string[],
  ): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd: dir,
      env: { ...process.env, NO_COLOR: '1', NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    return new Promise((resolve) =>
      child.once('close', (code) => resolve({ code, stdout, stderr })),
    );
  }

  test('a .mjs module', async () => {
    const { url } = await serveEvents(MIXED.slice(0, 2));
    const result = await spawnCli([url, '--json', '--contract', './plain.mjs']);
    expect(result.stderr).toBe(
      'ssekit: contract-violation: Event "token" (id 2) does not match the contract: text: text must be a string.\nssekit: 1 of 2 events did not match the contract (--contract)\n',
    );
    expect(result.code).toBe(5);
  });

  test.skipIf(typeStripping)(
    'a .ts module on a Node without type stripping: loaded with the project’s tsx',
    async () => {
      const { url } = await serveEvents(MIXED);
      const result = await spawnCli([url, '--json', '--contract', './chat.ts#chat']);
      expect(result.stderr).toContain('contract-violation: Event "token" (id 2)');
      expect(result.stderr).toContain('2 of 5 events did not match');
      expect(result.code).toBe(5);
    },
  );

  test.skipIf(typeStripping)(
    'a .ts module outside any project with tsx: exit 2, saying how to load it',
    async () => {
      const { url, requests } = await serveEvents(MIXED);
      const result = await spawnCli([url, '--contract', join(outside, 'typed.ts')]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(
        `cannot load TypeScript by itself. Install tsx in the contract's project (npm i -D tsx: ssekit then uses it), run under tsx (NODE_OPTIONS='--import tsx' ssekit ...), use Node 22.18 or later (type stripping), or point --contract to a .js module.`,
      );
      expect(requests()).toBe(0);
    },
  );
});
