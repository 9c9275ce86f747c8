/**
 * Proof that the `edge` project really runs in the Edge Runtime's globals (this file runs only
 * there): the runtime marker is set, and Response, fetch and streams are the runtime's own.
 */
import { expect, test } from 'vitest';
import { createParser } from '../../src/index.ts';

test('runs in @edge-runtime/vm', async () => {
  expect((globalThis as { EdgeRuntime?: unknown }).EdgeRuntime).toBe('edge-runtime');
  const response = new Response(new ReadableStream({ start: (c) => c.close() }));
  expect(await response.text()).toBe('');
  expect(typeof createParser).toBe('function');
});
