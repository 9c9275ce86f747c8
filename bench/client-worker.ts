import { createRequire } from 'node:module';
import { createParser } from 'eventsource-parser';

const [client, url, expected, ssekitBase, ext] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
];
// ssekit as users run it (its tsc build, bench/fanout-measure.ts buildSsekit), or src/ via tsx.
const { fetchEventStream } = (await import(
  new URL(`client/index${ext}`, ssekitBase).href
)) as typeof import('../src/client/index.ts');
const body = JSON.stringify({ messages: [{ role: 'user', content: 'benchmark' }] });
const headers = { 'content-type': 'application/json' };

async function ssekit(): Promise<number> {
  let count = 0;
  for await (const event of fetchEventStream(url, { method: 'POST', body, headers })) {
    if (event.data.length > 0) count++;
  }
  return count;
}

// The same client in callback mode: no promise per event.
async function ssekitCallbacks(): Promise<number> {
  let count = 0;
  await fetchEventStream(url, {
    method: 'POST',
    body,
    headers,
    onEvent(event) {
      if (event.data.length > 0) count++;
    },
  }).finished;
  return count;
}

// What people write by hand: fetch, getReader, a streaming TextDecoder and eventsource-parser.
async function handWritten(): Promise<number> {
  let count = 0;
  let done = false;
  const response = await fetch(url, { method: 'POST', body, headers });
  const parser = createParser({
    onEvent(event) {
      // The end: ssekit's `done` event (tokens), OpenAI's `[DONE]` (openai).
      if (event.event === 'done' || event.data === '[DONE]') done = true;
      else if (event.data.length > 0) count++;
    },
  });
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  while (!done) {
    const { value, done: end } = await reader.read();
    if (end) break;
    parser.feed(decoder.decode(value, { stream: true }));
  }
  await reader.cancel();
  return count;
}

// fetch-event-source touches window and document: shim them so it runs in Node at all.
async function fetchEventSource(): Promise<number> {
  const globals = globalThis as Record<string, unknown>;
  globals.window = globalThis;
  globals.document = { hidden: false, addEventListener() {}, removeEventListener() {} };
  const require = createRequire(import.meta.url);
  const { fetchEventSource: run } =
    require('@microsoft/fetch-event-source') as typeof import('@microsoft/fetch-event-source');
  let count = 0;
  const controller = new AbortController();
  await run(url, {
    method: 'POST',
    body,
    headers,
    signal: controller.signal,
    openWhenHidden: true,
    onmessage(message) {
      if (message.event === 'done' || message.data === '[DONE]') controller.abort();
      else if (message.data.length > 0) count++;
    },
    onerror(error) {
      throw error;
    },
  }).catch((error: unknown) => {
    if (!controller.signal.aborted) throw error;
  });
  return count;
}

const run = {
  ssekit,
  'ssekit (onEvent)': ssekitCallbacks,
  'hand-written': handWritten,
  'fetch-event-source': fetchEventSource,
}[client];
if (!run) throw new Error(`unknown client ${client}`);
const start = performance.now();
const startCpu = process.cpuUsage();
const count = await run();
const cpu = process.cpuUsage(startCpu);
const elapsed = performance.now() - start;
if (count !== Number(expected))
  throw new Error(`${client} received ${count} events, expected ${expected}`);
// Wall-clock and CPU milliseconds (user + system of this process: the client's own work, which a
// busy machine does not inflate the way it inflates the wall clock).
process.send!({ wallMs: elapsed, cpuMs: (cpu.user + cpu.system) / 1000 }, () => process.exit(0));
