/**
 * The decoders the benchmark compares, each fed a stream of byte chunks, each with a consumer
 * that reads `type`, `data` and `id` of every event (as every real consumer does):
 *
 * - ssekit: `createParser`, fed the bytes.
 * - eventsource-parser: behind a streaming `TextDecoder` (it takes strings): the alternative
 *   users have, and the one the ratios are taken against.
 * - fetch-event-source: @microsoft/fetch-event-source's byte-level line splitter and parser.
 * - baseline (with BENCH_BASELINE=<path to a built index.js>): another version of ssekit, to
 *   compare two versions side by side in one process.
 * - limit: a streaming `TextDecoder` and a scan for every line end (CR, LF, CRLF), building and
 *   calling nothing: the floor a decoder that works on text stands on.
 *
 * Runners are loaded on demand, so that a fresh process holds only the one it times.
 */
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { HASH_SEED, hashEvent } from './workloads.ts';

/** What a timed run returns: checked against the workload's own figures. */
export interface Tally {
  events: number;
  /** Sum of `type.length + data.length + id.length`. */
  size: number;
}

export interface Runner {
  /** Parses the stream with a consumer that reads each event's fields. */
  time(chunks: readonly Uint8Array[]): Tally;
  /** Parses the stream and hashes every event's fields (the correctness pass). */
  check(chunks: readonly Uint8Array[]): { events: number; hash: number };
  /** What `check` vouches for: every field, or only the count of events. */
  checks: 'fields' | 'count' | 'lines';
}

/** Where ssekit's protocol entry point is loaded from (its tsc build, or src/ through tsx). */
export interface SsekitSource {
  /** URL of the `index.js` (or `index.ts`) to import. */
  entry: string;
}

export const PARSERS: readonly string[] = [
  'ssekit',
  ...(process.env.BENCH_BASELINE ? ['baseline'] : []),
  'eventsource-parser',
  'fetch-event-source',
  'limit',
];

type Consumer = (type: string, data: string, id: string) => void;

/** A consumer that reads every field into a tally; returns both. */
function tallying(): { tally: Tally; consume: Consumer } {
  const tally: Tally = { events: 0, size: 0 };
  return {
    tally,
    consume(type, data, id) {
      tally.events++;
      tally.size += type.length + data.length + id.length;
    },
  };
}

function hashing(): { result: { events: number; hash: number }; consume: Consumer } {
  const result = { events: 0, hash: HASH_SEED };
  return {
    result,
    consume(type, data, id) {
      result.events++;
      result.hash = hashEvent(result.hash, type, data, id);
    },
  };
}

function runnerFrom(
  parse: (chunks: readonly Uint8Array[], consume: Consumer) => void,
  checks: Runner['checks'],
): Runner {
  return {
    checks,
    time(chunks) {
      const { tally, consume } = tallying();
      parse(chunks, consume);
      return tally;
    },
    check(chunks) {
      const { result, consume } = hashing();
      parse(chunks, consume);
      return result;
    },
  };
}

/**
 * Loads one runner. `unbounded`: ssekit without its `maxEventSize` (for lines past its 16 Mi
 * default); eventsource-parser has no bound by default.
 */
export async function loadRunner(
  name: string,
  ssekit: SsekitSource,
  unbounded = false,
): Promise<Runner> {
  switch (name) {
    case 'ssekit': {
      const { createParser } = (await import(ssekit.entry)) as typeof import('../src/index.ts');
      const maxEventSize = unbounded ? Number.POSITIVE_INFINITY : undefined;
      return runnerFrom((chunks, consume) => {
        const parser = createParser({
          maxEventSize,
          onEvent: (event) => consume(event.type, event.data, event.id),
        });
        for (const chunk of chunks) parser.feed(chunk);
        parser.end();
      }, 'fields');
    }
    case 'baseline': {
      // Another version of ssekit (BENCH_BASELINE: the path of its built index.js), side by side.
      const path = process.env.BENCH_BASELINE;
      if (!path) throw new Error('the baseline decoder needs BENCH_BASELINE=<path to index.js>');
      const { createParser } = (await import(
        pathToFileURL(resolve(path)).href
      )) as typeof import('../src/index.ts');
      const maxEventSize = unbounded ? Number.POSITIVE_INFINITY : undefined;
      return runnerFrom((chunks, consume) => {
        const parser = createParser({
          maxEventSize,
          onEvent: (event) => consume(event.type, event.data, event.id),
        });
        for (const chunk of chunks) parser.feed(chunk);
        parser.end();
      }, 'fields');
    }
    case 'eventsource-parser': {
      const { createParser } = await import('eventsource-parser');
      return runnerFrom((chunks, consume) => {
        // Its events carry `id` only when their block had one: keep the last, as EventSource does.
        let lastId = '';
        const decoder = new TextDecoder();
        const parser = createParser({
          onEvent(event) {
            if (event.id !== undefined) lastId = event.id;
            consume(event.event ?? 'message', event.data, lastId);
          },
        });
        for (const chunk of chunks) parser.feed(decoder.decode(chunk, { stream: true }));
        parser.feed(decoder.decode());
        parser.reset();
      }, 'fields');
    }
    case 'fetch-event-source': {
      const fes = createRequire(import.meta.url)(
        '@microsoft/fetch-event-source/lib/cjs/parse.js',
      ) as {
        getLines(
          onLine: (line: Uint8Array, fieldLength: number) => void,
        ): (chunk: Uint8Array) => void;
        getMessages(
          onId: (id: string) => void,
          onRetry: (retry: number) => void,
          onMessage: (message: { data: string; event: string; id: string }) => void,
        ): (line: Uint8Array, fieldLength: number) => void;
      };
      return runnerFrom((chunks, consume) => {
        // It dispatches on every blank line, also after a comment: count blocks with data only.
        const onChunk = fes.getLines(
          fes.getMessages(
            () => {},
            () => {},
            (message) => {
              if (message.data !== '')
                consume(message.event || 'message', message.data, message.id);
            },
          ),
        );
        for (const chunk of chunks) onChunk(chunk);
      }, 'count');
    }
    case 'limit': {
      // Decode and find every line end, building nothing, calling nothing: the count of lines
      // is the tally (as in the original limit of this benchmark).
      const countLines = (chunks: readonly Uint8Array[]): number => {
        let lines = 0;
        let skipLF = false;
        const decoder = new TextDecoder();
        for (const chunk of chunks) {
          const text = decoder.decode(chunk, { stream: true });
          let position = skipLF && text.charCodeAt(0) === 10 ? 1 : 0;
          skipLF = false;
          let cr = text.indexOf('\r', position);
          for (;;) {
            const lf = text.indexOf('\n', position);
            if (cr !== -1 && (lf === -1 || cr < lf)) {
              position = text.charCodeAt(cr + 1) === 10 ? cr + 2 : cr + 1;
              if (cr + 1 === text.length) skipLF = true;
              cr = text.indexOf('\r', position);
            } else if (lf !== -1) {
              position = lf + 1;
            } else break;
            lines++;
          }
        }
        return lines;
      };
      return {
        checks: 'lines',
        time: (chunks) => ({ events: countLines(chunks), size: 0 }),
        check: (chunks) => ({ events: countLines(chunks), hash: 0 }),
      };
    }
    default:
      throw new Error(`unknown parser ${name}; use ${PARSERS.join(', ')}`);
  }
}
