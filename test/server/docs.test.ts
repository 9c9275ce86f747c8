/**
 * The server docs quote the tested examples rather than paraphrase them: a TypeScript block after
 * an `<!-- example: path -->` marker is that file's code, verbatim, under import lines that name
 * the package (`ssekit/server`) where the file imports by relative path. (test/documents/docs.test.ts type-checks
 * every block on its own; the runnable versions live in examples/ and run in these tests.)
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';

const DOCS = ['docs/protocol.md', 'docs/server.md', 'docs/adapters.md'];
const QUOTE = /<!-- example: (?<path>[^ ]+) -->\n```ts\n(?<code>[\s\S]*?)```/g;
const IMPORT = /^import\s+(?:type\s+)?\{(?<names>[^}]*)\}\s+from\s+'[^']+';\n/gm;

function importedNames(code: string): string[] {
  return [...code.matchAll(IMPORT)].flatMap((match) =>
    match
      .groups!.names!.split(',')
      .map((name) => name.replace(/^\s*type\s+/, '').trim())
      .filter(Boolean),
  );
}

describe.each(DOCS)('%s', (doc) => {
  const quotes = [...readFileSync(doc, 'utf8').matchAll(QUOTE)].map((match) => match.groups!);

  test('quotes at least one example', () => {
    expect(quotes.length).toBeGreaterThan(0);
  });

  test.each(quotes.map((quote) => [quote.path!, quote] as const))(
    'the quote of %s is verbatim',
    (path, quote) => {
      expect(existsSync(path)).toBe(true);
      const source = readFileSync(path, 'utf8');
      const code = quote.code!;
      const body = code.replace(IMPORT, '').trim();
      expect(source).toContain(body);
      const available = importedNames(source);
      for (const name of importedNames(code)) expect(available).toContain(name);
    },
  );
});
