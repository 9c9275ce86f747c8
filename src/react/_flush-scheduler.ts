/**
 * Runs `flush` at most once per animation frame, however many times `schedule()` is called, with a
 * timer as a fallback: frames do not run in hidden tabs, workers, Node or most test environments.
 * @internal
 */
export interface FlushScheduler {
  schedule(): void;
  cancel(): void;
}

type FrameApi = {
  requestAnimationFrame?: (callback: () => void) => number;
  cancelAnimationFrame?: (handle: number) => void;
};

/** @internal */
export function createFlushScheduler(flush: () => void, fallbackMs: () => number): FlushScheduler {
  const frames = globalThis as FrameApi;
  let frame: number | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let scheduled = false;

  const cancel = () => {
    scheduled = false;
    if (frame !== undefined) frames.cancelAnimationFrame?.(frame);
    if (timer !== undefined) clearTimeout(timer);
    frame = undefined;
    timer = undefined;
  };
  const run = () => {
    cancel();
    flush();
  };
  return {
    schedule() {
      if (scheduled) return;
      scheduled = true;
      if (typeof frames.requestAnimationFrame === 'function') {
        frame = frames.requestAnimationFrame(run);
      }
      timer = setTimeout(run, fallbackMs());
    },
    cancel,
  };
}
