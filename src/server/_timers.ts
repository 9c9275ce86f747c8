/**
 * Timers for the server: they never keep a process alive (a stream that is the only thing left
 * must not block a graceful exit), and the heartbeat costs one timer however much traffic flows.
 */

/** Starts a one-shot timer and returns its cancel function. */
export function startTimer(callback: () => void, ms: number): () => void {
  const handle = setTimeout(callback, ms);
  unref(handle);
  return () => clearTimeout(handle);
}

// Node, Bun and Deno return a handle with unref(); browsers and workers return a number, and there
// is no process to keep alive. Feature-detected so that no runtime is imported.
function unref(handle: unknown): void {
  if (typeof handle !== 'object' || handle === null) return;
  const candidate = handle as { unref?: unknown };
  if (typeof candidate.unref === 'function') candidate.unref();
}

/** A heartbeat that fires after `intervalMs` of silence; any traffic pushes it back. */
export interface Heartbeat {
  /** Records traffic: the next beat comes `intervalMs` after now. */
  touch(): void;
  stop(): void;
}

const NO_HEARTBEAT: Heartbeat = { touch() {}, stop() {} };

/**
 * Starts a heartbeat. One timer, re-armed for the remaining silence when it fires early, rather than
 * a clearTimeout/setTimeout pair per event: a stream of thousands of tokens costs nothing extra.
 * `intervalMs` 0 disables it.
 */
export function startHeartbeat(intervalMs: number, beat: () => void): Heartbeat {
  if (intervalMs === 0) return NO_HEARTBEAT;
  let last = Date.now();
  let cancel: (() => void) | undefined;
  const arm = (ms: number) => {
    cancel = startTimer(tick, ms);
  };
  const tick = () => {
    cancel = undefined;
    const silence = Date.now() - last;
    if (silence < intervalMs) {
      arm(intervalMs - silence);
      return;
    }
    last = Date.now();
    arm(intervalMs);
    beat(); // last: beat() may stop the heartbeat, and then the timer armed above is cancelled
  };
  arm(intervalMs);
  return {
    touch() {
      last = Date.now();
    },
    stop() {
      cancel?.();
      cancel = undefined;
    },
  };
}
