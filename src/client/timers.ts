/**
 * Timers that never keep a process alive on their own: in Node a pending reconnection or idle
 * check must not stop a CLI or a test from exiting. `unref` is feature-detected, so this stays
 * universal (browsers return a number, which has no `unref`).
 * @internal
 */
export function unrefTimer(timer: unknown): void {
  if (
    typeof timer === 'object' &&
    timer !== null &&
    'unref' in timer &&
    typeof timer.unref === 'function'
  ) {
    timer.unref();
  }
}

/** A restartable one-shot timer. @internal */
export function startTimer(ms: number, onFire: () => void): { restart(): void; stop(): void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
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

/** Waits `ms`, or rejects with the signal's reason when it aborts first. @internal */
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
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    unrefTimer(timer);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
