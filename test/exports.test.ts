/**
 * The public surface: every entry point of package.json `exports` maps to a source module, its
 * export names are pinned by a snapshot (an accidental export or removal fails here), and key
 * signatures are checked at the type level.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, expectTypeOf, test } from 'vitest';
import type { EventStream, FetchEventStreamOptions } from '../src/client/index.ts';
import { fetchEventStream } from '../src/client/index.ts';
import type { Hub, RunProducer, RunWriter } from '../src/hub/index.ts';
import { createHub } from '../src/hub/index.ts';
import { createParser, encodeEvent, type Parser, type ServerSentEvent } from '../src/index.ts';
import {
  createEventStream,
  type EventStreamProducer,
  type EventStreamWriter,
} from '../src/server/index.ts';

/** One condition of the dual build: its types and its code. */
interface Built {
  types: string;
  default: string;
}

const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  exports: Record<string, string | { import: Built; require: Built }>;
  bin: Record<string, string>;
};

/** `./dist/client/index.js` → `../src/client/index.ts` */
function sourceOf(target: string): string {
  return target.replace(/^\.\/dist\//, '../src/').replace(/\.js$/, '.ts');
}

const entries = Object.entries(manifest.exports).filter(([name]) => name !== './package.json');

describe('package exports', () => {
  test.each(entries)('%s points at built files of a source module', async (name, target) => {
    expect(typeof target).toBe('object');
    // ES modules in dist/, the same modules as CommonJS in dist/cjs/, each with its types.
    const { import: esm, require: cjs } = target as { import: Built; require: Built };
    expect(esm.types).toBe(esm.default.replace(/\.js$/, '.d.ts'));
    expect(cjs.default).toBe(esm.default.replace(/^\.\/dist\//, './dist/cjs/'));
    expect(cjs.types).toBe(cjs.default.replace(/\.js$/, '.d.ts'));
    const module = await import(sourceOf(esm.default));
    expect(Object.keys(module).length, name).toBeGreaterThan(0);
  });

  test('export names of every entry point', async () => {
    const names: Record<string, string[]> = {};
    for (const [name, target] of entries) {
      names[name] = Object.keys(
        await import(sourceOf((target as { import: Built }).import.default)),
      ).sort();
    }
    expect(names).toMatchSnapshot();
  });

  test('the bin is the CLI', () => {
    expect(manifest.bin).toEqual({ ssekit: './dist/cli/bin.js' });
  });
});

describe('key signatures', () => {
  test('protocol', () => {
    expectTypeOf(createParser).returns.toEqualTypeOf<Parser>();
    expectTypeOf(encodeEvent).returns.toEqualTypeOf<string>();
    expectTypeOf<ServerSentEvent>().toEqualTypeOf<{ type: string; data: string; id: string }>();
  });

  test('client, server and hub', () => {
    expectTypeOf(fetchEventStream).parameters.toEqualTypeOf<
      [string | URL, FetchEventStreamOptions?]
    >();
    expectTypeOf(fetchEventStream).returns.toEqualTypeOf<EventStream>();
    expectTypeOf<EventStream>().toExtend<AsyncIterable<ServerSentEvent>>();
    expectTypeOf(createEventStream).returns.toEqualTypeOf<Response>();
    expectTypeOf(createHub).returns.toEqualTypeOf<Hub>();
    expectTypeOf<Hub['stream']>().returns.toEqualTypeOf<Promise<Response>>();
  });

  test('one producer model: a run writer is a stream writer minus the response, plus runId', () => {
    // the plain overload (the last one; the first takes a contract's producer)
    expectTypeOf<Parameters<typeof createEventStream>[1]>().toEqualTypeOf<EventStreamProducer>();
    expectTypeOf<RunProducer>().toEqualTypeOf<EventStreamProducer<RunWriter>>();
    expectTypeOf<RunWriter['send']>().toEqualTypeOf<EventStreamWriter['send']>();
    expectTypeOf<RunWriter['progress']>().toEqualTypeOf<EventStreamWriter['progress']>();
    expectTypeOf<Omit<RunWriter, 'runId'>>().toEqualTypeOf<
      Pick<EventStreamWriter, 'send' | 'progress' | 'signal' | 'request'>
    >();
    expectTypeOf<RunWriter['runId']>().toEqualTypeOf<string>();
  });
});
