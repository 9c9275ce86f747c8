import { defineConfig } from 'vitest/config';

/**
 * The fast suite (`npm test`): two projects, everything on Node, and the universal layers' suites
 * once more in an edge-like runtime (@edge-runtime/vm: the Web globals of Vercel's Edge Runtime,
 * no Node globals in the code under test), proving that protocol, client, server core and hub
 * need only Web APIs.
 *
 * The slow suites (a real browser, real runtimes, real frameworks, fault injection) live in
 * their own folders and run with `npm run test:slow` (vitest.slow.config.ts).
 */
export const SLOW = [
  'test/browser/**',
  'test/runtimes/**',
  'test/frameworks/**',
  'test/faults/**',
  'test/engines/**',
  'test/documents/**',
];

const EDGE = [
  'test/edge/**/*.test.ts',
  'test/protocol/**/*.test.ts',
  'test/client/fetch-event-stream.test.ts',
  'test/client/event-source.test.ts',
  'test/server/create-event-stream.test.ts',
  'test/server/outbox-web.test.ts',
  'test/hub/hub.test.ts',
];

export default defineConfig({
  test: {
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Most of the suite waits on sockets, timers, Redis and PostgreSQL rather than the CPU: four
    // workers on a two-core machine finish in ~78 s where the default (one per core less one)
    // takes ~128 s, with the same results.
    maxWorkers: 4,
    projects: [
      {
        extends: true,
        test: { name: 'node', include: ['test/**/*.test.ts'], exclude: ['test/edge/**', ...SLOW] },
      },
      { extends: true, test: { name: 'edge', include: EDGE, environment: 'edge-runtime' } },
    ],
  },
});
