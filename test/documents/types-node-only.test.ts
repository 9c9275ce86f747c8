/**
 * The published types compile in a Node-only TypeScript project: `"lib": ["ES2022"]`,
 * `"types": ["node"]`, `skipLibCheck: false`, no DOM lib. The build's declarations are emitted
 * into a temporary directory and imported by a small consumer through the package's own
 * `exports` map, and no error may point at them.
 *
 * In the slow documents suite (the TypeScript compiler: seconds of CPU), and kept quick all the
 * same: tsconfig.build.json has `isolatedDeclarations`, so
 * each file's declarations are emitted on their own (`ts.transpileDeclaration`, the same text tsc
 * emits, with a diagnostic for any export that would need type inference), and only the
 * consumer and the declarations are checked, not every library declaration behind them.
 *
 * Every entry point is covered. The React hook's types need @types/react, which a Node-only
 * server project has too when it renders on the server.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';
import { afterAll, expect, test } from 'vitest';

const root = new URL('../..', import.meta.url).pathname;

const ENTRIES = [
  'ssekit',
  'ssekit/server',
  'ssekit/adapters/node',
  'ssekit/adapters/express',
  'ssekit/adapters/koa',
  'ssekit/adapters/fastify',
  'ssekit/adapters/azure-functions',
  'ssekit/hub',
  'ssekit/hub/redis',
  'ssekit/client',
  'ssekit/react',
  'ssekit/contract',
  'ssekit/ai',
  'ssekit/ai/client',
  'ssekit/mcp',
];

// A Node server as a Node-only project writes it, plus every entry point's whole surface.
const CONSUMER = `
import { createServer } from 'node:http';
import { toNodeHandler } from 'ssekit/adapters/node';
import { createEventStream, type EventStreamOptions, jsonErrorResponse } from 'ssekit/server';
import { RequestError } from 'ssekit';
${ENTRIES.map((entry, index) => `import * as entry${index} from '${entry}';`).join('\n')}

const options: EventStreamOptions = { headers: { 'x-request-id': '42' }, heartbeatMs: 5_000 };
createServer(
  toNodeHandler((request) =>
    request.method === 'POST'
      ? createEventStream(request, async (stream) => {
          await stream.send({ event: 'token', data: 'hello' });
        }, options)
      : jsonErrorResponse(new RequestError('method-not-allowed', 'Use POST.'), {
          headers: [['allow', 'POST']],
        }),
  ),
).listen(0);
export const surface = [${ENTRIES.map((_entry, index) => `entry${index}`).join(', ')}];
`;

const dir = mkdtempSync(join(tmpdir(), 'ssekit-types-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Emits the declarations of tsconfig.build.json into `outDir`; returns the problems found. */
function emitDeclarations(outDir: string): string[] {
  const config = ts.getParsedCommandLineOfConfigFile(
    join(root, 'tsconfig.build.json'),
    { declarationMap: false },
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
        throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
      },
    },
  )!;
  expect(config.options.isolatedDeclarations).toBe(true);
  const problems: string[] = [];
  for (const fileName of config.fileNames) {
    const result = ts.transpileDeclaration(readFileSync(fileName, 'utf8'), {
      compilerOptions: config.options,
      fileName,
      reportDiagnostics: true,
    });
    for (const diagnostic of result.diagnostics ?? []) {
      problems.push(
        `${relative(root, fileName)}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`,
      );
    }
    const target = join(outDir, relative(join(root, 'src'), fileName)).replace(/\.ts$/, '.d.ts');
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, result.outputText);
  }
  expect(config.fileNames.length).toBeGreaterThan(40);
  return problems;
}

test('the declarations compile without the DOM lib, with skipLibCheck false', () => {
  expect(emitDeclarations(join(dir, 'dist'))).toEqual([]);

  // The package as a consumer resolves it: its exports map (types conditions) over dist/.
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    exports: unknown;
  };
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'ssekit', type: 'module', exports: manifest.exports }),
  );
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
  const consumer = join(dir, 'consumer.ts');
  writeFileSync(consumer, CONSUMER);

  const program = ts.createProgram([consumer], {
    target: ts.ScriptTarget.ES2022,
    lib: ['lib.es2022.d.ts'],
    types: ['node'],
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    exactOptionalPropertyTypes: true,
    skipLibCheck: false,
    noEmit: true,
  });
  // Only what is ours is checked: the consumer and the declarations (a third-party declaration's
  // own error, one @types package against another version of its dependency, is not ours to fix).
  const ownFiles = program
    .getSourceFiles()
    .filter((file) => file.fileName.startsWith(dir) && !file.fileName.includes('/node_modules/'));
  const ours = [
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
    ...ownFiles.flatMap((file) => [
      ...program.getSyntacticDiagnostics(file),
      ...program.getSemanticDiagnostics(file),
    ]),
  ].map((diagnostic) => {
    const where = diagnostic.file
      ? `${relative(dir, diagnostic.file.fileName)}:${diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start ?? 0).line + 1}: `
      : '';
    return where + ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
  });
  expect(ours).toEqual([]);
  // The consumer really saw the declarations (not an empty program that passes by accident).
  expect(
    program.getSourceFiles().some((file) => file.fileName.endsWith('dist/server/index.d.ts')),
  ).toBe(true);
}, 120_000);
