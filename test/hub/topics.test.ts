/**
 * The topic fan-out (src/hub/_topics.ts): one engine tail per topic, each entry encoded once and
 * handed to every live subscriber; subscribers that are joining or fell behind catch up from the
 * log, with no gap and no duplicate at the seam. Here: the seams with a tail the test drives, the
 * fan-out suite on the memory engine (topics-redis and topics-postgres run it on the others),
 * and once through a real node:http socket (the Node adapter's direct lane).
 */
import { afterEach, describe, expect, test, vi } from 'vitest';
import { toNodeHandler } from '../../src/adapters/node.ts';
import { tailGapError } from '../../src/hub/engine.ts';
import { createHub, createMemoryEngine, type Hub } from '../../src/hub/index.ts';
import { startServer, type TestServer } from '../helpers/http-server.ts';
import { rawRequest } from '../helpers/server-stream.ts';
import {
  collect,
  counting,
  drivenTail,
  numbers,
  subscriber,
  topicFanOut,
  waitFor,
} from './topic-fan-out.ts';

test('a subscriber whose replay read into a gap that its lagging tail reports later hears history-lost before the entry after it', async () => {
  // The topic's tail lags the log: the subscriber's replay reads the log up to entry 1 and it is
  // caught up; then the tail reports that retention trimmed what came after 0-0 before it read
  // it, and goes on at 101. The subscriber had 1 but not what followed: it hears so, then 101.
  const tail = drivenTail();
  const hub = createHub({ engine: tail.engine, onError: vi.fn() });
  try {
    const first = await hub.publish('lag', { data: '1' });
    const slow = subscriber(await hub.subscribe(new Request('http://hub.test/t'), 'lag'));
    slow.start();
    await tail.replayed;
    const next = await hub.publish('lag', { data: '101' });
    tail.report(tailGapError('Test', 'lag', '0-0', next));
    tail.deliver({ id: next, event: { data: '101' } });
    await slow.until(() => slow.events.some((event) => event.data === '101'));
    expect(slow.events.map((event) => [event.type, event.data])).toEqual([
      ['history-lost', JSON.stringify({ requested: first, from: next })],
      ['message', '101'],
    ]);
  } finally {
    await hub.close();
    await tail.engine.close();
  }
});

test('a subscriber that falls behind gets what follows from its queue, though retention trimmed it from the log: nothing lost, nothing reported', async () => {
  // Caught up, then 300 entries while its client reads nothing: its queue (64 bytes) fills at
  // the first few and it falls behind; the rest wait in its catch-up's queue while retention
  // keeps the log's last 100. Read again, it gets all 300, in order, with no history-lost (a
  // replay would have found the log at 201 and skipped or reported the rest).
  const tail = drivenTail();
  const hub = createHub({ engine: tail.engine, retention: { maxEvents: 100 }, onError: vi.fn() });
  try {
    await hub.publish('busy', { data: '0' });
    const slow = subscriber(
      await hub.subscribe(new Request('http://hub.test/t'), 'busy', { highWaterMark: 64 }),
    );
    await tail.replayed;
    for (let index = 1; index <= 300; index++) {
      const id = await hub.publish('busy', { data: String(index) });
      tail.deliver({ id, event: { data: String(index) } });
    }
    expect(await hub.history('busy', { limit: 1_000 })).toHaveLength(100); // the log kept 201..300
    await slow.until(() => slow.events.at(-1)?.data === '300');
    expect(slow.events.map((event) => event.data)).toEqual(numbers(1, 300));
  } finally {
    await hub.close();
    await tail.engine.close();
  }
});

test('a subscriber dropped for not reading is named by its topic (its request was let go, no string kept per connection)', async () => {
  const hub = createHub({ engine: createMemoryEngine(), onError: vi.fn() });
  const errors: unknown[] = [];
  const response = await hub.subscribe(new Request('http://hub.test/events?x=1'), 'feed', {
    writeTimeoutMs: 50,
    heartbeatMs: 0,
    onError: (error) => errors.push(error),
  });
  try {
    // The body is never read: the queue waits, the stall timer drops the client.
    for (let index = 0; index < 200 && errors.length === 0; index++) {
      await hub.publish('feed', { data: 'x'.repeat(200) });
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(errors).toHaveLength(1);
    expect(String(errors[0])).toMatch(
      /^StreamError: Dropped the client of a subscription to topic:feed: it read nothing for writeTimeoutMs \(50 ms\) with \d+ bytes waiting\.$/,
    );
    expect(response.status).toBe(200);
  } finally {
    await hub.close();
  }
});

topicFanOut('memory');

describe('topic fan-out through node:http (the direct lane)', () => {
  let server: TestServer | undefined;
  let hub: Hub | undefined;
  afterEach(async () => {
    await server?.close();
    await hub?.close();
  });

  test('a client that stops reading: its socket fills, it falls behind, then gets every event in order', async () => {
    const counted = counting(createMemoryEngine());
    const onError = vi.fn();
    const serving = createHub({
      engine: counted.engine,
      retention: { maxEvents: 20_000 },
      onError,
    });
    hub = serving;
    server = await startServer(
      toNodeHandler((request) =>
        serving.subscribe(request, 'big', { highWaterMark: 16_384, heartbeatMs: 0 }),
      ),
    );
    const socket = await rawRequest(server.port, 'GET / HTTP/1.1\r\nhost: x\r\n\r\n');
    const text = collect(socket);
    await waitFor(() => text.value.includes('\r\n\r\n')); // the headers: subscribed
    socket.pause(); // reads nothing more: the kernel buffers fill, then the server's queue
    const rangesBefore = counted.ranges();
    const count = 5000;
    const payload = 'x'.repeat(1000);
    for (let index = 1; index <= count; index++) {
      await serving.publish('big', { data: `${index} ${payload}` });
    }
    socket.resume();
    await waitFor(() => text.value.includes(`data: ${count} `));
    const received = [...text.value.matchAll(/data: (\d+) x/g)].map((match) => Number(match[1]));
    expect(received).toEqual(numbers(1, count).map(Number));
    expect(counted.ranges()).toBeGreaterThan(rangesBefore); // it fell behind and replayed
    expect(onError).not.toHaveBeenCalled();
    socket.destroy();
    await waitFor(() => counted.tails() === 0); // the client left: the subscription is gone
  }, 60_000);
});
