import { useEffect, useInsertionEffect, useMemo, useRef, useState } from 'react';
import {
  type ControllerInputs,
  createStreamController,
  initialSnapshot,
} from './_stream-controller.ts';
import type { UseEventStreamOptions, UseEventStreamResult } from './types.ts';

/**
 * Streams events from `url` into React state: `status`, the accumulated `text` of a token stream,
 * the last `events`, `error` and `lastEventId`, with `start(body?)` and `stop()`. Built on
 * `fetchEventStream`, so it resumes with `Last-Event-ID` when the connection drops (`status` is
 * `reconnecting` meanwhile, `retry` says how long it waits).
 *
 * - Nothing happens until `start()`; unmounting aborts the request.
 * - StrictMode's double effects send one request, not two.
 * - Options and callbacks are read when needed, so new ones (a new closure each render) take
 *   effect at once and never reconnect.
 * - Events are batched: thousands of tokens per second render once per animation frame.
 *
 * @example
 * ```tsx
 * import { useEventStream } from 'ssekit/react';
 *
 * function Answer({ prompt }: { prompt: string }) {
 *   const { text, status, error, start, stop } = useEventStream('/api/chat', { maxEvents: 0 });
 *   return (
 *     <>
 *       <button onClick={() => start({ prompt })}>Ask</button>
 *       <button onClick={stop} disabled={status !== 'open'}>Stop</button>
 *       <p>{text}</p>
 *       {status === 'error' && <p role="alert">{String(error)}</p>}
 *     </>
 *   );
 * }
 * ```
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html
 */
export function useEventStream(
  url: string | URL,
  options: UseEventStreamOptions = {},
): UseEventStreamResult {
  return useStream(url, options);
}

/** The hook, with the function that starts a stream (`useContractStream`'s decodes). @internal */
export function useStream(
  url: string | URL,
  options: UseEventStreamOptions,
  start?: Parameters<typeof createStreamController>[2],
): UseEventStreamResult {
  const inputs = useRef<ControllerInputs>({ url, options });
  // Insertion effects run before layout effects, effects and events of the commit, and not on the
  // server: the controller always sees the committed options, never those of a discarded render.
  useInsertionEffect(() => {
    inputs.current = { url, options };
  });
  const [snapshot, setSnapshot] = useState(() => initialSnapshot(options));
  const [controller] = useState(() =>
    createStreamController(() => inputs.current, setSnapshot, start),
  );
  useEffect(() => controller.unmount, [controller]);
  return useMemo(
    () => ({ ...snapshot, start: controller.start, stop: controller.stop }),
    [snapshot, controller],
  );
}
