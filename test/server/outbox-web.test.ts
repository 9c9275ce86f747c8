/**
 * The outbox's Web body (src/server/_outbox.ts): the outbox is the source of its own
 * `ReadableStream` (high-water mark 0), what Bun, Deno, edge runtimes and every framework that
 * takes a `Response` read. Real Web streams, no fake timers.
 */
import { expect, test } from 'vitest';
import type { ByteSink } from '../../src/_internal/direct-lane.ts';
import { Outbox, type OutboxOwner } from '../../src/server/_outbox.ts';

function outboxHeard(): { outbox: Outbox; heard: string[] } {
  const heard: string[] = [];
  const owner: OutboxOwner = {
    options: { highWaterMark: 100, maxBufferedBytes: 1000, writeTimeoutMs: 60_000 },
    cancelled: (reason) => heard.push(`cancelled ${String(reason)}`),
    stalled: () => heard.push('stalled'),
    overflowed: () => heard.push('overflowed'),
    closed: () => heard.push('closed'),
    sent: (bytes) => heard.push(`sent ${bytes}`),
  };
  return { outbox: new Outbox(owner), heard };
}

const decoder = new TextDecoder();
const text = (chunk: Uint8Array | undefined) => decoder.decode(chunk);

test('what is queued before a read comes as one chunk; a read that waits takes the next push; the end closes it', async () => {
  const { outbox, heard } = outboxHeard();
  const reader = outbox.readable.getReader();
  outbox.push('a');
  outbox.push('b');
  expect(text((await reader.read()).value)).toBe('ab');
  const next = reader.read();
  outbox.push('c');
  expect(text((await next).value)).toBe('c');
  outbox.end();
  expect(await reader.read()).toEqual({ done: true, value: undefined });
  expect(heard).toEqual(['sent 2', 'sent 1', 'closed']);
});

test('a body made after the end reads as that end: empty once ended, the error once failed', async () => {
  const ended = outboxHeard().outbox;
  ended.end();
  expect(await ended.readable.getReader().read()).toEqual({ done: true, value: undefined });
  const failed = outboxHeard().outbox;
  const error = new Error('producer failed');
  failed.fail(error);
  await expect(failed.readable.getReader().read()).rejects.toBe(error);
});

test('a client that is gone closes the body rather than erroring it; what was queued is dropped', async () => {
  const { outbox } = outboxHeard();
  const reader = outbox.readable.getReader();
  outbox.push('never read');
  outbox.clientGone(new Error('socket closed'));
  expect(outbox.bufferedBytes).toBe(0);
  expect(await reader.read()).toEqual({ done: true, value: undefined });
});

test('the reader cancels: the owner hears why, the queue is dropped, later pushes are ignored', async () => {
  const { outbox, heard } = outboxHeard();
  const reader = outbox.readable.getReader();
  outbox.push('a');
  await reader.cancel('bye');
  expect(heard).toEqual(['cancelled bye']);
  expect(outbox.bufferedBytes).toBe(0);
  expect(outbox.push('b')).toBeUndefined();
  expect(outbox.bufferedBytes).toBe(0);
});

test('one Web body per outbox, and none once a sink is attached; a sink attached later closes the body and takes the queue', async () => {
  const { outbox } = outboxHeard();
  const reader = outbox.readable.getReader();
  expect(() => outbox.readable).toThrow(new TypeError('The event stream has a Web body already.'));
  outbox.push('queued');
  const written: string[] = [];
  const sink: ByteSink = {
    pendingBytes: 0,
    write: (chunk) => written.push(text(chunk)) > 0,
    end: () => written.push('end'),
    fail: () => written.push('fail'),
  };
  outbox.attach(sink);
  expect(written).toEqual(['queued']);
  expect(await reader.read()).toEqual({ done: true, value: undefined });
  expect(() => outbox.readable).toThrow(new TypeError('The event stream is written to a sink.'));
  expect(() => outbox.attach(sink)).toThrow(new TypeError('The event stream has a sink already.'));
  outbox.end();
  expect(written).toEqual(['queued', 'end']);
});
