/**
 * Every `ts` code block in README.md and docs/*.md type-checks against the sources (the package
 * names map to src/), and the README's protocol example runs and prints what it says it prints.
 * Blocks may use the placeholders declared in PRELUDE (an LLM to stream from, a DOM node).
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { expect, test } from 'vitest';

const root = new URL('../..', import.meta.url).pathname;
const files = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];

const PRELUDE = `
declare const output: HTMLElement;
declare const token: string;
declare function generate(prompt: string, options?: { signal?: AbortSignal }): AsyncIterable<string>;
`;

function blocks(file: string): Array<{ code: string; line: number; tsx: boolean }> {
  const text = readFileSync(join(root, file), 'utf8');
  const found: Array<{ code: string; line: number; tsx: boolean }> = [];
  const pattern = /```(ts|tsx)\n([\s\S]*?)```/g;
  for (let match = pattern.exec(text); match; match = pattern.exec(text)) {
    found.push({
      code: match[2]!,
      line: text.slice(0, match.index).split('\n').length,
      tsx: match[1] === 'tsx',
    });
  }
  return found;
}

test('every ts and tsx block in the README and docs type-checks', () => {
  const dir = join(root, 'node_modules/.cache/ssekit-docs');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'prelude.d.ts'), PRELUDE);
  const names: string[] = [join(dir, 'prelude.d.ts')];
  const origin = new Map<string, string>();
  for (const file of files) {
    for (const [index, block] of blocks(file).entries()) {
      const name = join(dir, `${file.replace(/[/.]/g, '_')}_${index}.${block.tsx ? 'tsx' : 'ts'}`);
      // Each block is a module of its own (top-level await and exports are allowed).
      writeFileSync(name, `${block.code}\nexport {};\n`);
      names.push(name);
      origin.set(name, `${file}:${block.line}`);
    }
  }
  const program = ts.createProgram(names, {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    noEmit: true,
    jsx: ts.JsxEmit.ReactJSX,
    skipLibCheck: true,
    allowImportingTsExtensions: true,
    lib: ['lib.es2023.d.ts', 'lib.dom.d.ts', 'lib.dom.iterable.d.ts', 'lib.dom.asynciterable.d.ts'],
    types: ['node'],
    baseUrl: root,
    paths: {
      ssekit: ['src/index.ts'],
      'ssekit/hub/redis': ['src/hub/redis.ts'],
      'ssekit/hub/postgres': ['src/hub/postgres.ts'],
      'ssekit/hub/durable-object': ['src/hub/durable-object.ts'],
      'ssekit/ai/client': ['src/ai/client.ts'],
      'ssekit/client/multiplex': ['src/client/multiplex.ts'],
      'ssekit/adapters/*': ['src/adapters/*.ts'],
      'ssekit/*': ['src/*/index.ts'],
    },
  });
  // Only the blocks are checked (what they use of src/ is resolved as they need it), not every
  // file of the program: the same diagnostics for the blocks, without type-checking src/ again.
  const problems = [...origin.keys()]
    .map((name) => program.getSourceFile(name)!)
    .flatMap((file) => [
      ...program.getSyntacticDiagnostics(file),
      ...program.getSemanticDiagnostics(file),
    ])
    .map((diagnostic) => {
      const { line } = diagnostic.file!.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
      return `${origin.get(diagnostic.file!.fileName)} (+${line}): ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`;
    });
  expect(problems).toEqual([]);
  expect(names.length).toBeGreaterThan(5);
}, 180_000); // one type-check of every code block: ~15 s idle, minutes on a loaded machine

test("the README's protocol example prints what it says", async () => {
  const example = blocks('README.md').find((block) => block.code.includes('createParser'));
  expect(example).toBeDefined();
  const logged: unknown[] = [];
  const { createParser, encodeEvent } = await import('../../src/index.ts');
  const source = example!.code.replace(/^import .*$/gm, '').replace(/console\.log\(/g, 'log(');
  const body = ts.transpileModule(source, {
    compilerOptions: { target: ts.ScriptTarget.ES2022 },
  }).outputText;
  new Function('createParser', 'encodeEvent', 'log', body)(
    createParser,
    encodeEvent,
    (value: unknown) => logged.push(value),
  );
  const expected = /console\.log\(events\); \/\/ (.*)$/m.exec(example!.code)![1]!;
  // The comment is the printed value, in JS object notation.
  expect(logged).toEqual([new Function(`return ${expected}`)()]);
});
