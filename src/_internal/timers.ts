/**
 * Timers that never keep a process alive on their own: a pending reconnection, an idle check or a
 * stream's heartbeat must not stop a CLI, a test or a graceful shutdown from exiting. `unref` is
 * feature-detected, so this stays universal (browsers and workers return a number, which has none).
 *
 * Server streams hold their timers as handles plus one shared callback that gets the stream as its
 * argument ({@link setTimer}), rather than a closure per timer: with thousands of idle connections,
 * every closure counts.
 * @internal
 */

/** What `setTimeout` returns in this runtime: an object in Node, Bun and Deno, a number elsewhere. */
export type Timer = ReturnType<typeof setTimeout>;

/** Unrefs a timer handle where the runtime has `unref` (Node, Bun, Deno). */
export function unrefTimer(timer: unknown): void {
  if (typeof timer !== 'object' || timer === null) return;
  const candidate = timer as { unref?: unknown };
  if (typeof candidate.unref === 'function') candidate.unref();
}

/** Starts a one-shot timer that calls `callback(argument)` after `ms`, and does not keep a process alive. */
export function setTimer<T>(callback: (argument: T) => void, ms: number, argument: T): Timer {
  const handle = setTimeout(callback, ms, argument);
  unrefTimer(handle);
  return handle;
}

/** A restartable one-shot timer. */
export function startTimer(ms: number, onFire: () => void): { restart(): void; stop(): void } {
  let timer: Timer | undefined;
  const restart = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(onFire, ms);
    unrefTimer(timer);
  };
  restart();
  return {
    restart,
    stop() {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
  };
}

/**
 * Waits `ms`, or rejects with the signal's reason when it aborts first. A wait past the longest a
 * timer takes (2^31-1 ms, 24.8 days: a server's `retry: 4294967306`) is cut to that, never
 * wrapped into a short one as `setTimeout` does (modulo 2^32 in browsers, 1 ms in Node).
 */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.min(ms, 2_147_483_647),
    );
    unrefTimer(timer);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

// Captured lazily: Date.now() at module scope is fine everywhere, but workerd freezes the clock
// during global scope, so the first call (inside a request) fixes the epoch instead.
let epoch: number | undefined;

/**
 * Milliseconds since the first call: small integers (for 24 days), which an object holds inline,
 * where a `Date.now()` value needs a boxed double per stream. `Math.trunc` is what makes them
 * small integers: a difference of two doubles is a boxed double itself until the function is
 * optimised, and one such value stored in a field makes V8 box that field in every object of
 * the class (16 bytes more per idle connection).
 */
export function now(): number {
  const time = Date.now();
  epoch ??= time;
  return Math.trunc(time - epoch);
}
