/**
 * docs/cli.md stays true: its exit codes are the CLI's, its options are `--help`'s, and its output
 * examples are what the CLI prints for its example stream.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { exitCodes } from '../../src/cli/exit-codes.ts';
import { HELP } from '../../src/cli/help.ts';
import { type CliWritable, runCli } from '../../src/cli/main.ts';
import { startServer, type TestServer, writeEventStreamHead } from '../helpers/http-server.ts';

const doc = readFileSync(new URL('../../docs/cli.md', import.meta.url), 'utf8');

/** The fenced block after `<!-- example: name -->`. */
function example(name: string): string {
  const match = new RegExp(`<!-- example: ${name} -->\\n\`\`\`text\\n([\\s\\S]*?)\`\`\``).exec(doc);
  if (!match) throw new Error(`docs/cli.md has no example "${name}"`);
  return match[1]!;
}

let server: TestServer;
let requests = 0;

beforeAll(async () => {
  // /openai and /anthropic serve those examples and keep the connection open: their terminal
  // events must end the CLI's stream.
  server = await startServer((req, res) => {
    requests++;
    writeEventStreamHead(res);
    if (req.url === '/openai') res.write(example('openai-wire'));
    else if (req.url === '/anthropic') res.write(example('anthropic-wire'));
    else res.end(example('wire'));
  });
});

afterAll(() => server.close());

async function output(args: string[], path = '/', isTTY = false): Promise<string> {
  let text = '';
  const stdout: CliWritable = {
    isTTY,
    write(chunk) {
      text += Buffer.from(chunk).toString('utf8');
      return true;
    },
  };
  const code = await runCli([`${server.url}${path}`, ...args], {
    stdout,
    stderr: stdout,
    env: { NO_COLOR: '1' },
  });
  expect(code).toBe(0);
  return text;
}

test('the output examples are what the CLI prints for the example stream', async () => {
  expect(await output([])).toBe(example('pretty'));
  expect(await output(['--json'])).toBe(example('json'));
  expect(await output(['--raw'])).toBe(example('wire'));
});

test('the --text examples: an OpenAI-style and an Anthropic-style stream, one request each', async () => {
  const before = requests;
  expect(await output(['-d', '{"stream":true}', '--text'], '/openai', true)).toBe(
    example('openai-text'),
  );
  expect(await output(['-d', '{"stream":true}', '--text'], '/anthropic', true)).toBe(
    example('anthropic-text'),
  );
  // Piped, exactly the text: no newline added.
  expect(await output(['--text'], '/openai')).toBe(example('openai-text').trimEnd());
  expect(requests - before).toBe(3);
});

test('the exit code table lists every exit code, and --help mentions each', () => {
  const table = doc.slice(doc.indexOf('<!-- exit-codes -->'));
  const documented = [...table.matchAll(/^\|\s*(\d+)\s*\|/gm)].map((match) => Number(match[1]));
  const codes = Object.values(exitCodes);
  expect(documented).toEqual(codes);
  const help = HELP.slice(HELP.indexOf('Exit codes:'));
  for (const code of codes) expect(help).toMatch(new RegExp(`(^|\\s)${code} `));
});

test('the options table documents exactly the options of --help', () => {
  const options = (text: string) => [...new Set(text.match(/--[a-z][a-z-]+/g))].sort();
  const table = doc.slice(doc.indexOf('## Options'), doc.indexOf('## Output'));
  expect(options(table)).toEqual(options(HELP));
  for (const short of ['-X', '-d', '-H', '-h']) {
    expect(table).toContain(`\`${short}\``);
    expect(HELP).toContain(`${short},`);
  }
});
