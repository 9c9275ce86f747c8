/**
 * What the runtime does that a server must know and cannot ask for: facts about Node, Deno, Bun
 * and Cloudflare Workers (workerd), each checked by the runtime suites (test/runtimes).
 * @internal
 */

const global = globalThis as {
  Deno?: unknown;
  Bun?: unknown;
  process?: { versions?: { node?: unknown } };
  navigator?: { userAgent?: unknown };
  WebSocketPair?: unknown;
  EdgeRuntime?: unknown;
};

/** Cloudflare Workers or another isolate platform that ties I/O to the request that did it. */
const isolated =
  global.WebSocketPair !== undefined ||
  global.EdgeRuntime !== undefined ||
  global.navigator?.userAgent === 'Cloudflare-Workers';

/**
 * Whether one process-wide timer may serve the streams of every request: true on Node, Deno and
 * Bun. False on Cloudflare Workers (workerd, also with `nodejs_compat`, which brings a `process`),
 * which ties timers and I/O to the request that set them, and on any runtime not known here.
 */
export const sharedTimersAllowed: boolean =
  !isolated &&
  (global.Deno !== undefined ||
    global.Bun !== undefined ||
    typeof global.process?.versions?.node === 'string');

/**
 * Whether the runtime's own server cancels a response body when its client leaves, at once and
 * whether or not the body is being written: Deno.serve and Bun.serve do, at the same millisecond
 * as `request.signal` aborts. Then a stream need not also listen to `request.signal`, a listener
 * that costs an idle connection about 450 bytes on Deno. On Node, Web requests come from
 * frameworks whose bodies may not be cancelled, and workerd cancels a body only when it writes
 * (its `request.signal`, behind a compatibility flag, may tell sooner): there the stream listens
 * to both.
 */
export const bodyCancelledOnLeave: boolean =
  !isolated && (global.Deno !== undefined || global.Bun !== undefined);
