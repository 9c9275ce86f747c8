/**
 * What the Durable Object engine (src/hub/durable-object.ts, in the Worker) and its object
 * (src/hub/_durable-object-log.ts, `HubObject`) say to each other: storage keys of entries, and
 * the lines of the streamed answers (tails, cancels), one JSON object a line.
 * @internal
 */
import type { LogEntry } from './engine.ts';

/** An entry as stored and as sent: `i` its id, `e` its type, `d` its data (absent stays absent). */
export interface WireEntry {
  i: string;
  e?: string;
  d?: string;
}

/** A line of a tail: an entry, or `r`, the log's last id when the tail was registered. */
export type TailLine = WireEntry | { r: string };

const ID = /^(\d{1,16})-(\d{1,16})$/;

/**
 * The storage key of an id: both parts zero-padded to 16 digits, so that the keys' order (the
 * storage lists keys in byte order) is the ids' numeric order, exactly, with no number parsing.
 */
export function entryKey(id: string): string {
  const match = ID.exec(id);
  if (!match) throw new TypeError(`Not a log id (<ms>-<seq>): ${JSON.stringify(id)}.`);
  return `e:${match[1]!.padStart(16, '0')}-${match[2]!.padStart(16, '0')}`;
}

/** The id of a storage key (leading zeros dropped: `0-1`, not `0000…-0000…1`). */
export function idOfKey(key: string): string {
  const [ms, seq] = key.slice(2).split('-') as [string, string];
  return `${ms.replace(/^0+(?=\d)/, '')}-${seq.replace(/^0+(?=\d)/, '')}`;
}

/** The prefix of every entry key. */
export const ENTRY_PREFIX = 'e:';

export function toLogEntry(wire: WireEntry): LogEntry {
  const entry: LogEntry = { id: wire.i, event: {} };
  if (wire.e !== undefined) entry.event.event = wire.e;
  if (wire.d !== undefined) entry.event.data = wire.d;
  return entry;
}

const encoder = new TextEncoder();

/** One line of a streamed answer. */
export function encodeLine(value: unknown): Uint8Array {
  return encoder.encode(`${JSON.stringify(value)}\n`);
}

/**
 * Reads a streamed answer line by line; resolves when it ends, rejects when it breaks. JSON
 * escapes line breaks inside strings, so a raw `\n` always ends a line.
 */
export async function readLines(
  body: ReadableStream<Uint8Array>,
  onLine: (line: unknown) => void,
  reader: { current?: ReadableStreamDefaultReader<Uint8Array> },
): Promise<void> {
  const decoder = new TextDecoder();
  const source = body.getReader();
  reader.current = source;
  let buffered = '';
  for (;;) {
    const { done, value } = await source.read();
    if (done) return;
    buffered += decoder.decode(value, { stream: true });
    let end = buffered.indexOf('\n');
    while (end !== -1) {
      onLine(JSON.parse(buffered.slice(0, end)));
      buffered = buffered.slice(end + 1);
      end = buffered.indexOf('\n');
    }
  }
}
