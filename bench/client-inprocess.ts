/**
 * `npm run bench:client-inprocess`: where the client's time goes on small events, without a
 * socket. The `tokens` stream of bench/client.ts (500,000 events of 35 bytes with ids, in chunks
 * of about 60 KB that end at event boundaries) is served by a `fetch` that answers with a
 * `Response` over those chunks, and read in one warm process, rounds interleaved, by:
 * - the hand-written loop (getReader + streaming TextDecoder + eventsource-parser);
 * - ssekit with `onEvent`, and with `for await`, each with the default terminal rule and with
 *   `isTerminal: (event) => event.type === 'done'` (what the rule costs per stream);
 * - a bare `for await` over the same number of events already in an array (the iterator's floor);
 * - the two parsers alone on the chunks (ssekit's, and eventsource-parser behind a TextDecoder).
 * Prints the median of the measured rounds, in ms, after warm-up rounds: V8 needs about twenty
 * rounds to reach its steady state here (with two, every reader measured 30 to 45 % slower, and
 * ssekit's more than the hand-written loop). ssekit is its tsc build
 * (bench/fanout-measure.ts buildSsekit; BENCH_SSEKIT=src for src/ through tsx).
 * Environment: BENCH_EVENTS (default 500000), BENCH_WARMUP (rounds, default 20), BENCH_RUNS
 * (measured rounds, default 10).
 */
import { createParser as createReferenceParser } from 'eventsource-parser';
import { buildSsekit } from './fanout-measure.ts';
import { median } from './report.ts';

const events = Number(process.env.BENCH_EVENTS ?? 500_000);
const warmup = Math.max(0, Number(process.env.BENCH_WARMUP ?? 20));
const rounds = warmup + Math.max(1, Number(process.env.BENCH_RUNS ?? 10));
const ssekit = buildSsekit(process.env.BENCH_SSEKIT === 'src');
try {
  const { fetchEventStream } = (await import(
    new URL(`client/index${ssekit.ext}`, ssekit.base).href
  )) as typeof import('../src/client/index.ts');
  const { createParser } = (await import(
    new URL(`protocol/parser${ssekit.ext}`, ssekit.base).href
  )) as typeof import('../src/protocol/parser.ts');

  const chunks: Uint8Array[] = [];
  let text = '';
  for (let id = 1; id <= events; id++) {
    text += `id: ${id}\ndata: {"t":"tok${id % 1000}"}\n\n`;
    if (text.length > 60_000) {
      chunks.push(new TextEncoder().encode(text));
      text = '';
    }
  }
  chunks.push(new TextEncoder().encode(`${text}event: done\ndata:\n\n`));
  const fetch = async () =>
    new Response(
      new ReadableStream<Uint8Array>({
        start(controller) {
          for (const chunk of chunks) controller.enqueue(chunk);
          controller.close();
        },
      }),
      { headers: { 'content-type': 'text/event-stream' } },
    );
  const url = 'http://bench.invalid/';
  const untilDone = (event: { type: string }) => event.type === 'done';
  const array = Array.from({ length: events }, (_, id) => ({ type: 'message', data: `${id}` }));

  // ssekit, with the default terminal rule (`isTerminal` undefined) or another.
  type Rule = typeof untilDone | undefined;
  const withOnEvent = async (isTerminal: Rule) => {
    let count = 0;
    await fetchEventStream(url, {
      fetch,
      isTerminal,
      onEvent(event) {
        if (event.data.length > 0) count++;
      },
    }).finished;
    return count;
  };
  const withForAwait = async (isTerminal: Rule) => {
    let count = 0;
    for await (const event of fetchEventStream(url, { fetch, isTerminal }))
      if (event.data.length > 0) count++;
    return count;
  };

  const clients: Record<string, () => Promise<number>> = {
    'hand-written': async () => {
      let count = 0;
      let done = false;
      const parser = createReferenceParser({
        onEvent(event) {
          if (event.event === 'done') done = true;
          else if (event.data.length > 0) count++;
        },
      });
      const reader = (await fetch()).body!.getReader();
      const decoder = new TextDecoder();
      while (!done) {
        const { value, done: end } = await reader.read();
        if (end) break;
        parser.feed(decoder.decode(value, { stream: true }));
      }
      return count;
    },
    'ssekit onEvent': () => withOnEvent(undefined),
    'ssekit onEvent, isTerminal type done': () => withOnEvent(untilDone),
    'ssekit for await': () => withForAwait(undefined),
    'ssekit for await, isTerminal type done': () => withForAwait(untilDone),
    'for await over an array (floor)': async () => {
      let count = 0;
      let index = 0;
      const iterator: AsyncIterableIterator<{ data: string }> = {
        next: () =>
          Promise.resolve(
            index < array.length
              ? { value: array[index++]!, done: false }
              : { value: undefined, done: true },
          ),
        [Symbol.asyncIterator]: () => iterator,
      };
      for await (const event of iterator) if (event.data.length > 0) count++;
      return count;
    },
    'ssekit parser alone': async () => {
      let count = 0;
      const parser = createParser({
        onEvent(event) {
          if (event.type !== 'done' && event.data.length > 0) count++;
        },
      });
      for (const chunk of chunks) parser.feed(chunk);
      return count;
    },
    'eventsource-parser alone': async () => {
      let count = 0;
      const parser = createReferenceParser({
        onEvent(event) {
          if (event.event !== 'done' && event.data.length > 0) count++;
        },
      });
      const decoder = new TextDecoder();
      for (const chunk of chunks) parser.feed(decoder.decode(chunk, { stream: true }));
      return count;
    },
  };

  const times: Record<string, number[]> = Object.fromEntries(
    Object.keys(clients).map((name) => [name, []]),
  );
  for (let round = 0; round < rounds; round++) {
    for (const [name, run] of Object.entries(clients)) {
      const started = performance.now();
      const count = await run();
      times[name]!.push(performance.now() - started);
      if (count !== events) throw new Error(`${name} read ${count} events, expected ${events}`);
    }
  }
  console.log(
    `Client in-process, tokens: ${events} events, median of ${rounds - warmup} rounds after ${warmup} warm-up rounds, ms (ssekit ${ssekit.from})`,
  );
  for (const [name, list] of Object.entries(times))
    console.log(`${median(list.slice(warmup)).toFixed(1).padStart(8)}  ${name}`);
} finally {
  ssekit.remove();
}
