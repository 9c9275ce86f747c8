/**
 * The packed package's own modules, loaded in Node: the tests read the runtimes with the client
 * users install, not with the sources.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { packPackage } from '../../scripts/pack.ts';

const packed = packPackage();

async function load<T>(path: string): Promise<T> {
  return (await import(pathToFileURL(join(packed.packageDir, path)).href)) as T;
}

export const client: typeof import('../../src/client/index.ts') =
  await load('dist/client/index.js');
export const protocol: typeof import('../../src/index.ts') = await load('dist/index.js');

export interface RawEvent {
  type: string;
  data: string;
  id: string;
}

/** Reads a whole event-stream body: its text and its events (decoded by the package). */
export async function readAll(response: Response): Promise<{ text: string; events: RawEvent[] }> {
  const text = await response.text();
  const events: RawEvent[] = [];
  const parser = protocol.createParser({
    onEvent: (event) => events.push({ type: event.type, data: event.data, id: event.id }),
  });
  parser.feed(new TextEncoder().encode(text));
  parser.end();
  return { text, events };
}

/** Reads events until `count` arrived, then cuts the connection. */
export async function readSome(response: Response, count: number): Promise<RawEvent[]> {
  const events: RawEvent[] = [];
  const reader = response.body!.pipeThrough(new protocol.EventStreamDecoder()).getReader();
  while (events.length < count) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`the stream ended after ${events.length} events`);
    events.push({ type: value.type, data: value.data, id: value.id });
  }
  await reader.cancel();
  return events;
}

/** Polls `check` every 25 ms until it returns true (or `timeoutMs` passes: returns false). */
export async function eventually(
  check: () => Promise<boolean>,
  timeoutMs = 5000,
): Promise<boolean> {
  for (const started = Date.now(); Date.now() - started < timeoutMs; ) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return check();
}
