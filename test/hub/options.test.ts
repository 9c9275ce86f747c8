/**
 * `createHub`'s options are resolved once and validated at once: a bad value throws a TypeError
 * from `createHub` that names the option and the value (both values for a combination), never a
 * failure later in a run, a publish or a lease renewal.
 */
import { expect, test } from 'vitest';
import { createHub, createMemoryEngine, type HubOptions } from '../../src/hub/index.ts';

test.each<[string, HubOptions, string]>([
  [
    'runTtlMs',
    { runTtlMs: 0 },
    'runTtlMs must be a number of milliseconds from 1 to 2147483647, got 0.',
  ],
  [
    'producerLeaseMs',
    { producerLeaseMs: Number.NaN },
    'producerLeaseMs must be a number of milliseconds from 1 to 2147483647, got NaN.',
  ],
  [
    'leaseRenewMs',
    { leaseRenewMs: 2 ** 31 },
    'leaseRenewMs must be a number of milliseconds from 1 to 2147483647, got 2147483648.',
  ],
  [
    'leaseRenewMs against producerLeaseMs',
    { producerLeaseMs: 1_000, leaseRenewMs: 1_000 },
    'leaseRenewMs (1000) must be less than producerLeaseMs (1000): the lease would lapse between renewals.',
  ],
  [
    'maxRunEvents',
    { maxRunEvents: 2.5 },
    'maxRunEvents must be an integer from 1 to 999999999999998, got 2.5.',
  ],
  [
    'maxRunEvents',
    { maxRunEvents: 0 },
    'maxRunEvents must be an integer from 1 to 999999999999998, got 0.',
  ],
  [
    'retention.maxEvents',
    { retention: { maxEvents: -1 } },
    'retention.maxEvents must be an integer from 1 to 9007199254740991, got -1.',
  ],
  [
    'retention.maxAgeMs',
    { retention: { maxAgeMs: 0 } },
    'retention.maxAgeMs must be a number of milliseconds from 1 to Infinity, got 0.',
  ],
  ['onError', { onError: 'log' as never }, 'onError must be a function, got string.'],
  ['publicError', { publicError: {} as never }, 'publicError must be a function, got object.'],
])('%s is checked at once', (_name, options, message) => {
  expect(() => createHub(options)).toThrow(new TypeError(message));
});

test('an engine is checked against HubEngine at once, naming what it lacks', () => {
  const { tail: _tail, onCancel: _onCancel, ...partial } = createMemoryEngine();
  expect(() => createHub({ engine: partial as never })).toThrow(
    new TypeError(
      'engine must implement HubEngine (src/hub/engine.ts, docs/hub.md#the-engine-contract): no tail(), onCancel().',
    ),
  );
  expect(() => createHub({ engine: 'redis://localhost' as never })).toThrow(
    /^engine must implement HubEngine .*: got redis:\/\/localhost\.$/,
  );
});

test('the defaults, and the widest values, are accepted', async () => {
  for (const options of [
    {},
    { engine: createMemoryEngine(), producerLeaseMs: 3, leaseRenewMs: 2 },
    { retention: { maxAgeMs: Number.POSITIVE_INFINITY, maxEvents: 1 }, maxRunEvents: 1 },
    { runTtlMs: 2 ** 31 - 1, maxRunEvents: 10 ** 15 - 2 },
  ] satisfies HubOptions[]) {
    const hub = createHub(options);
    await hub.close();
  }
  // The lease default is a third of the lease, so a short lease alone is valid.
  await createHub({ producerLeaseMs: 2 }).close();
  expect(() => createHub({ producerLeaseMs: 1 })).toThrow(
    'leaseRenewMs (1) must be less than producerLeaseMs (1)',
  );
});
