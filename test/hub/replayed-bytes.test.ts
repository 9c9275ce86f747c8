/**
 * The bytes of replayed entries, shared by a topic's catching-up subscribers
 * (src/hub/_replayed-bytes.ts): encoded once while catch-ups run, dropped when the last ends,
 * bounded in bytes with the oldest going first, failures never kept.
 */
import { expect, test } from 'vitest';
import { MAX_REPLAYED_BYTES, ReplayedBytes } from '../../src/hub/_replayed-bytes.ts';
import type { LogEntry } from '../../src/hub/engine.ts';
import { HubError } from '../../src/index.ts';

const entry = (id: string, data = id): LogEntry => ({ id, event: { data } });

function counted() {
  const encoded: string[] = [];
  const replayed = new ReplayedBytes((item) => {
    encoded.push(item.id);
    if (item.event.data === 'bad') return new HubError('invalid-entry', `bad ${item.id}`);
    return new TextEncoder().encode(`id: ${item.id}\ndata: ${String(item.event.data)}\n\n`);
  });
  return { replayed, encoded };
}

test('while catch-ups run, each entry is encoded once and every subscriber gets the same bytes', () => {
  const { replayed, encoded } = counted();
  replayed.started();
  replayed.started();
  const first = ['1-0', '2-0', '3-0'].map((id) => replayed.of(entry(id)));
  const second = ['1-0', '2-0', '3-0'].map((id) => replayed.of(entry(id)));
  expect(encoded).toEqual(['1-0', '2-0', '3-0']);
  second.forEach((bytes, index) => {
    expect(bytes).toBe(first[index]);
  });
  expect(new TextDecoder().decode(first[1] as Uint8Array)).toBe('id: 2-0\ndata: 2-0\n\n');

  // The last catch-up ends: the bytes go; the next catch-up encodes again.
  replayed.ended();
  expect(replayed.of(entry('1-0'))).toBe(first[0]);
  replayed.ended();
  replayed.started();
  expect(replayed.of(entry('1-0'))).not.toBe(first[0]);
  expect(encoded).toEqual(['1-0', '2-0', '3-0', '1-0']);
});

test('nothing is kept while no catch-up runs', () => {
  const { replayed, encoded } = counted();
  replayed.of(entry('1-0'));
  replayed.of(entry('1-0'));
  expect(encoded).toEqual(['1-0', '1-0']);
});

test('an entry that cannot be encoded is reported to each asker, never kept', () => {
  const { replayed, encoded } = counted();
  replayed.started();
  expect(HubError.isInstance(replayed.of(entry('1-0', 'bad')))).toBe(true);
  expect(HubError.isInstance(replayed.of(entry('1-0', 'bad')))).toBe(true);
  expect(encoded).toEqual(['1-0', '1-0']);
});

test(`at most ${MAX_REPLAYED_BYTES} bytes are kept, the oldest entries going first`, () => {
  const { replayed, encoded } = counted();
  replayed.started();
  const big = 'x'.repeat(300_000); // each entry's bytes: a little more than 300,000
  for (const id of ['1-0', '2-0', '3-0', '4-0']) replayed.of(entry(id, big));
  // Three fit in 1 MiB, four do not: the first went.
  encoded.length = 0;
  for (const id of ['2-0', '3-0', '4-0']) replayed.of(entry(id, big));
  expect(encoded).toEqual([]);
  replayed.of(entry('1-0', big));
  expect(encoded).toEqual(['1-0']);
  // An entry larger than the bound is not kept, and evicts nothing.
  const huge = 'y'.repeat(MAX_REPLAYED_BYTES + 1);
  replayed.of(entry('5-0', huge));
  replayed.of(entry('5-0', huge));
  encoded.length = 0;
  for (const id of ['3-0', '4-0', '1-0']) replayed.of(entry(id, big));
  expect(encoded).toEqual([]);
  replayed.of(entry('5-0', huge));
  expect(encoded).toEqual(['5-0']);
});
