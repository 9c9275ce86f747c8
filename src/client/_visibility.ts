/** Something that can pause a connection: attempts wait while it says paused. @internal */
export interface PauseSource {
  isPaused(): boolean;
  /** Calls `listener` on every change; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void;
}

interface VisibilityDocument {
  readonly visibilityState: string;
  addEventListener(type: 'visibilitychange', listener: () => void): void;
  removeEventListener(type: 'visibilitychange', listener: () => void): void;
}

/**
 * Page visibility as a pause source, looked up on `globalThis` so the client still loads where
 * there is no document (Node, workers, edge runtimes); there it never pauses.
 * @internal
 */
export function visibilityPause(): PauseSource | undefined {
  const doc = (globalThis as { document?: VisibilityDocument }).document;
  if (!doc || typeof doc.addEventListener !== 'function') return undefined;
  return {
    isPaused: () => doc.visibilityState === 'hidden',
    subscribe(listener) {
      doc.addEventListener('visibilitychange', listener);
      return () => doc.removeEventListener('visibilitychange', listener);
    },
  };
}
