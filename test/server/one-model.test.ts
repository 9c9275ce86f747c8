/**
 * One producer model for plain streams and hub runs: one serializer of event data
 * (src/_internal/serialize-event.ts) and one producer runner (src/_internal/run-producer.ts).
 * The same producer gives the same wire text on `createEventStream` and on `hub.stream` (but for
 * the ids a run adds), on every engine.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { serializeEventData } from '../../src/_internal/serialize-event.ts';
import { createHub, type Hub, type HubEngine } from '../../src/hub/index.ts';
import { createEventStream, type EventStreamEvent } from '../../src/server/index.ts';
import { hubEngines } from '../helpers/hub-engines.ts';
import { textReader } from '../helpers/server-stream.ts';

const engines = hubEngines('one-model');

describe('serializeEventData', () => {
  test('a string as is, undefined as no data, anything else as JSON', () => {
    expect(serializeEventData('a\nb')).toBe('a\nb');
    expect(serializeEventData('')).toBe('');
    expect(serializeEventData(undefined)).toBeUndefined();
    expect(serializeEventData(null)).toBe('null');
    expect(serializeEventData({ a: [1, 'x'] })).toBe('{"a":[1,"x"]}');
    expect(serializeEventData(0)).toBe('0');
  });

  test('what JSON cannot represent is a TypeError, never an empty string', () => {
    expect(() => serializeEventData(() => 1)).toThrow(TypeError);
    expect(() => serializeEventData(Symbol('s'))).toThrow(TypeError);
    expect(() => serializeEventData(10n)).toThrow(TypeError);
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(() => serializeEventData(cycle)).toThrow(TypeError);
  });
});

/** Events of every data shape, an event without data among them. */
const EVENTS: EventStreamEvent[] = [
  { event: 'ping' },
  { data: { cpu: 0.5 } },
  { event: 'token', data: 'Hel\nlo' },
  { data: '' },
  { event: 'empty', data: undefined },
];

const withoutIds = (text: string) => text.replace(/^id: .*\n/gm, '');

describe.each(Object.keys(engines))('a hub run on the %s engine', (engineName) => {
  let hub: Hub | undefined;
  let engine: HubEngine | undefined;
  afterEach(async () => {
    await hub?.close();
    await engine?.close();
  });
  const makeHub = () => {
    engine = engines[engineName as keyof typeof engines]();
    hub = createHub({ engine, onError: () => {} });
    return hub;
  };

  test('sends what a plain stream sends: no data line for undefined data', async () => {
    const plain = createEventStream(new Request('http://x.test/s'), EVENTS);
    const plainText = await textReader(plain.body).all();
    expect(plainText).toBe(
      'event: ping\n\n' +
        'data: {"cpu":0.5}\n\n' +
        'event: token\ndata: Hel\ndata: lo\n\n' +
        'data:\n\n' +
        'event: empty\n\n' +
        'event: done\ndata: {}\n\n',
    );
    const run = await makeHub().stream(new Request('http://x.test/r', { method: 'POST' }), EVENTS);
    const runText = await textReader(run.body).all();
    expect(runText).toMatch(/^event: ping\nid: [\w-]{22}\.1\n\n/);
    expect(withoutIds(runText)).toBe(plainText);
  });

  test('takes a sync iterable, like a plain stream', async () => {
    const hub = makeHub();
    const iterable = new Set<EventStreamEvent>([{ data: 'a' }, { data: 'b' }]);
    const run = await hub.stream(new Request('http://x.test/r', { method: 'POST' }), iterable);
    expect(withoutIds(await textReader(run.body).all())).toBe(
      'data: a\n\ndata: b\n\nevent: done\ndata: {}\n\n',
    );
  });

  test('a cancel does not wait for a generator stuck between events', async () => {
    const hub = makeHub();
    let runId = '';
    const stuck = new Promise<never>(() => {});
    const run = await hub.stream(
      new Request('http://x.test/r', { method: 'POST' }),
      async function* (writer) {
        runId = writer.runId;
        yield { data: 'first' };
        await stuck; // follows no signal
        yield { data: 'never' };
      },
    );
    const reader = textReader(run.body);
    await reader.until('data: first\n\n');
    expect(await hub.cancel(runId)).toBe(true);
    expect(withoutIds(await reader.all())).toBe(
      'data: first\n\nevent: done\ndata: {"cancelled":true}\n\n',
    );
  });
});
