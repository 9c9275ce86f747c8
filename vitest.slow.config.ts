import { defineConfig } from 'vitest/config';

/**
 * The slow suites (`npm run test:slow`, or one of them with `--project NAME`): each drives a real
 * outside part, so each takes seconds per test and has a folder of its own.
 *
 * - browser: headless Debian Chromium through playwright-core (the client, the demo, consumers);
 * - runtimes: Deno, Bun and workerd from their npm packages (server and client inside each);
 * - frameworks: the examples as real projects (Next.js build and start, Netlify, Azure Functions),
 *   and real Python servers (Flask, FastAPI) the client reads;
 * - faults: Redis cut by a TCP proxy, killed instances, soak-style bad input;
 * - engines: the hub's engines on servers that take seconds to set up (a 6-node Redis Cluster);
 * - documents: OpenAPI and AsyncAPI documents of contracts, through their real validators; every
 *   TypeScript block of the README and docs type-checked, and the published types compiled in a
 *   Node-only project (the TypeScript compiler: seconds of CPU each).
 *
 * A project whose folder has no tests yet is skipped.
 */
const SUITES = ['browser', 'runtimes', 'frameworks', 'faults', 'engines', 'documents'] as const;

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 180_000,
    passWithNoTests: true,
    projects: SUITES.map((name) => ({
      extends: true,
      test: { name, include: [`test/${name}/**/*.test.ts`] },
    })),
  },
});
