/**
 * `npm run build`: the dual build. `dist/` holds the ES modules (`tsc -p tsconfig.build.json`,
 * what `import` resolves to); `dist/cjs/` the same modules compiled to CommonJS
 * (`tsc -p tsconfig.cjs.json`, what `require` resolves to), with a `package.json` saying
 * `"type": "commonjs"` so that Node and TypeScript read its `.js` and `.d.ts` files as CommonJS.
 * The CLI is ESM only (a bin, never required).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');

rmSync(join(root, 'dist'), { recursive: true, force: true });
for (const project of ['tsconfig.build.json', 'tsconfig.cjs.json']) {
  execFileSync(process.execPath, [tsc, '-p', project], { cwd: root, stdio: 'inherit' });
}
mkdirSync(join(root, 'dist', 'cjs'), { recursive: true });
writeFileSync(join(root, 'dist', 'cjs', 'package.json'), '{ "type": "commonjs" }\n');
