/**
 * Timers for the server: they never keep a process alive (a stream that is the only thing left
 * must not block a graceful exit). A stream holds its timers as handles plus one shared callback
 * that gets the stream as its argument, rather than a closure per timer: with thousands of idle
 * connections, every closure counts.
 */

/** What `setTimeout` returns in this runtime: an object in Node, Bun and Deno, a number elsewhere. */
export type Timer = ReturnType<typeof setTimeout>;

/** Starts a one-shot timer that calls `callback(argument)` after `ms`, and does not keep a process alive. */
export function setTimer<T>(callback: (argument: T) => void, ms: number, argument: T): Timer {
  const handle = setTimeout(callback, ms, argument);
  unref(handle);
  return handle;
}

// Node, Bun and Deno return a handle with unref(); browsers and workers return a number, and there
// is no process to keep alive. Feature-detected so that no runtime is imported.
function unref(handle: unknown): void {
  if (typeof handle !== 'object' || handle === null) return;
  const candidate = handle as { unref?: unknown };
  if (typeof candidate.unref === 'function') candidate.unref();
}

const EPOCH = Date.now();

/**
 * Milliseconds since this module loaded: small integers (for 24 days), which an object holds
 * inline, where a `Date.now()` value needs a boxed double per stream.
 */
export function now(): number {
  return Date.now() - EPOCH;
}
