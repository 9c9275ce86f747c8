import { describe, expect, test } from 'vitest';
import { createEventQueue } from '../../src/client/_event-queue.ts';
import type { ServerSentEvent } from '../../src/protocol/types.ts';

const event = (n: number): ServerSentEvent => ({ type: 'message', data: String(n), id: String(n) });

describe('the event queue between the connection and for await', () => {
  test('a loop that keeps pace without ever draining gets every event once, in order', async () => {
    const queue = createEventQueue(8, true, () => {});
    const iterator = queue.iterate();
    const taken: string[] = [];
    let pushed = 0;
    // Five events ahead of the loop at all times: the buffer never drains, never fills.
    for (; pushed < 5; pushed++) expect(queue.push(event(pushed))).toBeUndefined();
    for (let round = 0; round < 1000; round++) {
      expect(queue.push(event(pushed++))).toBeUndefined();
      const result = await iterator.next();
      taken.push((result.value as ServerSentEvent).data);
    }
    queue.end();
    for (;;) {
      const result = await iterator.next();
      if (result.done) break;
      taken.push(result.value.data);
    }
    expect(taken).toEqual(Array.from({ length: pushed }, (_, n) => String(n)));
  });

  test('a full buffer makes push wait until the loop has taken half of it', async () => {
    const queue = createEventQueue(4, true, () => {});
    const iterator = queue.iterate();
    for (let n = 0; n < 3; n++) expect(queue.push(event(n))).toBeUndefined();
    const wait = queue.push(event(3));
    expect(wait).toBeInstanceOf(Promise);
    let released = false;
    void wait!.then(() => (released = true));
    expect((await iterator.next()).value).toEqual(event(0));
    await Promise.resolve();
    expect(released).toBe(false); // three left: above half the mark
    expect((await iterator.next()).value).toEqual(event(1));
    await Promise.resolve();
    expect(released).toBe(true);
    expect(queue.push(event(4))).toBeUndefined();
    queue.end({ error: new Error('cut') });
    expect((await iterator.next()).value).toEqual(event(2));
    expect((await iterator.next()).value).toEqual(event(3));
    expect((await iterator.next()).value).toEqual(event(4));
    await expect(iterator.next()).rejects.toThrow('cut');
    expect(await iterator.next()).toEqual({ value: undefined, done: true });
  });

  test('a waiting loop is handed the next event as soon as it is pushed', async () => {
    const queue = createEventQueue(4, true, () => {});
    const iterator = queue.iterate();
    const waiting = iterator.next();
    queue.push(event(7));
    expect(await waiting).toEqual({ value: event(7), done: false });
  });
});
