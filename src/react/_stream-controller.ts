import {
  type CloseInfo,
  type EventStream,
  type FetchEventStreamOptions,
  startEventStream,
} from '../client/fetch-event-stream.ts';
import type { StopResult } from '../client/types.ts';
import type { ServerSentEvent } from '../protocol/types.ts';
import { defaultToText } from './default-to-text.ts';
import type { EventStreamSnapshot, UseEventStreamOptions } from './types.ts';

/** What the controller reads at the moment it needs it, so that it is always the latest. */
export interface ControllerInputs {
  url: string | URL;
  options: UseEventStreamOptions;
}

/**
 * The framework-free core of `useEventStream`: one stream at a time, its state, and batched
 * publication of that state. The hook binds it to React.
 * @internal
 */
export interface StreamController {
  readonly start: (body?: unknown) => void;
  readonly stop: () => void;
  /** Cancels the stream and pending renders (a StrictMode remount reuses the controller). */
  readonly unmount: () => void;
}

/** One `start()`: it is live while it is the controller's current run. */
interface Run {
  stream?: Omit<EventStream, typeof Symbol.asyncIterator>;
}

type FrameApi = {
  requestAnimationFrame?: (callback: () => void) => number;
  cancelAnimationFrame?: (handle: number | undefined) => void;
};

/** @internal */
export function initialSnapshot(options: UseEventStreamOptions): EventStreamSnapshot {
  return {
    status: 'idle',
    text: '',
    events: [],
    error: undefined,
    lastEventId: options.lastEventId ?? '',
    retry: undefined,
  };
}

/** @internal */
export function createStreamController(
  inputs: () => ControllerInputs,
  publish: (snapshot: EventStreamSnapshot) => void,
  // useContractStream's: decodes events before they reach `onEvent`
  start: typeof startEventStream = startEventStream,
): StreamController {
  const options = () => inputs().options;
  let snapshot = initialSnapshot(options());
  let current: Run | undefined;
  // Token events land here and reach React at most once per animation frame, with a timer as a
  // fallback: frames do not run in hidden tabs, workers, Node or most test environments.
  let pendingText = '';
  let pendingEvents: ServerSentEvent[] = [];
  const frames = globalThis as FrameApi;
  let frame: number | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined; // set while a flush is scheduled
  const maxEvents = () => checkMaxEvents(options().maxEvents ?? 100);
  const cancelFlush = () => {
    frames.cancelAnimationFrame?.(frame);
    clearTimeout(timer);
    timer = undefined;
  };
  const flush = () => update({});

  /** Applies the pending events and `patch`, and publishes at once (status changes are rare). */
  function update(patch: Partial<EventStreamSnapshot>): void {
    cancelFlush();
    const max = maxEvents();
    const events =
      pendingEvents.length > 0 ? [...snapshot.events, ...pendingEvents] : snapshot.events;
    snapshot = {
      ...snapshot,
      text: snapshot.text + pendingText,
      events: events.length > max ? events.slice(events.length - max) : events,
      lastEventId: current?.stream?.lastEventId ?? snapshot.lastEventId,
      ...patch,
    };
    pendingText = '';
    pendingEvents = [];
    publish(snapshot);
  }

  function open(run: Run, body: unknown): void {
    const live = () => current === run;
    const end = (info: CloseInfo) => {
      if (!live()) return;
      // Published while `current` is still this run, so the final lastEventId is the stream's.
      const failed = info.reason === 'error';
      update({ status: failed ? 'error' : 'closed', error: info.error, retry: undefined });
      current = undefined;
      if (failed) return options().onError?.(info.error);
      const { text, lastEventId } = snapshot;
      options().onDone?.(
        info.event ? { text, event: info.event, lastEventId } : { text, lastEventId },
      );
    };
    const { url, options: hookOptions } = inputs();
    try {
      run.stream = start(url, {
        ...clientOptions(hookOptions),
        ...(body === undefined ? {} : { json: body }),
        onOpen(response) {
          if (!live()) return;
          update({ status: 'open', retry: undefined });
          options().onOpen?.(response);
        },
        onEvent(event) {
          if (!live()) return;
          pendingText += (options().toText ?? defaultToText)(event) || '';
          const max = maxEvents();
          if (max > 0) {
            pendingEvents.push(event);
            // Thousands of events between two frames: keep only what `events` can show.
            if (pendingEvents.length > 2 * max) pendingEvents = pendingEvents.slice(-max);
          }
          if (timer === undefined) {
            frame = frames.requestAnimationFrame?.(flush);
            timer = setTimeout(flush, options().flushMs ?? 50);
          }
          options().onEvent?.(event);
        },
        onRetry(retry) {
          if (!live()) return;
          update({ status: 'reconnecting', retry });
          const { text, lastEventId } = snapshot;
          options().onRetry?.({ ...retry, text, lastEventId });
        },
        onClose: end,
      });
    } catch (error) {
      // A bad option (a TypeError that names it): shown like any failure, since start() returned.
      end({ reason: 'error', error });
    }
  }

  return {
    start(body) {
      maxEvents(); // a programmer mistake throws here, before anything changes
      current?.stream?.close();
      const run: Run = {};
      current = run;
      pendingText = '';
      pendingEvents = [];
      update({ ...initialSnapshot(options()), status: 'connecting' });
      // StrictMode mounts, unmounts and mounts again in one synchronous pass: deferring the
      // request to a microtask lets that unmount cancel it before anything is sent.
      queueMicrotask(() => {
        if (current === run) open(run, body);
      });
    },
    stop() {
      const run = current;
      if (!run) return;
      update({ status: 'closed', retry: undefined });
      current = undefined;
      // Stops the producer too when the server is ssekit's hub; only closes the connection
      // otherwise (or when the request has not gone out yet).
      void (run.stream?.stop() ?? Promise.resolve(NOT_STARTED)).then((result) => {
        const { onStop } = options();
        if (onStop) onStop(result);
        else if (result.outcome === 'failed')
          console.warn('ssekit: stop() could not cancel the run on the server:', result.error);
      });
    },
    unmount() {
      current?.stream?.close();
      current = undefined;
      cancelFlush();
    },
  };
}

const NOT_STARTED: StopResult = { outcome: 'not-cancellable', runId: undefined };

/** The options of `fetchEventStream` among the hook's. */
function clientOptions(options: UseEventStreamOptions): FetchEventStreamOptions {
  const {
    maxEvents,
    toText,
    flushMs,
    onOpen,
    onEvent,
    onRetry,
    onDone,
    onError,
    onStop,
    ...client
  } = options;
  // Fails to compile when the hook gets an option that is not taken out above (it would reach
  // fetchEventStream).
  const checked: FetchEventStreamOptions &
    Record<Exclude<keyof typeof client, keyof FetchEventStreamOptions>, never> = client;
  return checked;
}

function checkMaxEvents(value: number): number {
  if (!(Number.isSafeInteger(value) && value >= 0)) {
    throw new TypeError(`useEventStream: maxEvents must be a non-negative integer, got ${value}.`);
  }
  return value;
}
