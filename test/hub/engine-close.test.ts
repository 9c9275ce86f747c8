/**
 * Closing an engine while its connections are still being set up (a cancel listener's
 * subscription, a tail's first read): nothing may reject unhandled, which would end a Node
 * process. The Redis engine's cancel-channel subscription did ("Connection is closed."), caught by
 * CI in a hub test; every engine is held to it here.
 */
import { expect, test } from 'vitest';
import { hubEngines } from '../helpers/hub-engines.ts';

const engines = hubEngines('engine-close');

test.each(Object.entries(engines))(
  '%s: an engine closed right after its first listeners leaves no unhandled rejection',
  async (_name, make) => {
    const unhandled: unknown[] = [];
    const record = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', record);
    try {
      for (let round = 0; round < 10; round++) {
        const engine = make();
        const stop = engine.onCancel(() => {});
        const tail = engine.tail(
          `close-${round}`,
          () => {},
          () => {},
        );
        await engine.close();
        tail.close();
        stop();
      }
      // Node reports an unhandled rejection once the microtask queue is empty after it.
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      process.off('unhandledRejection', record);
    }
    expect(unhandled).toEqual([]);
  },
);
