import {
  type CloseInfo,
  type EventStream,
  type FetchEventStreamOptions,
  startEventStream,
} from '../client/fetch-event-stream.ts';
import type { StopResult } from '../client/types.ts';
import type { ServerSentEvent } from '../protocol/types.ts';
import { createFlushScheduler } from './_flush-scheduler.ts';
import { defaultToText } from './default-to-text.ts';
import type {
  EventStreamSnapshot,
  UseEventStreamOptions,
  UseEventStreamOwnOption,
} from './types.ts';

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

interface Run {
  stream: Omit<EventStream, typeof Symbol.asyncIterator> | undefined;
  cancelled: boolean;
}

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
): StreamController {
  let snapshot = initialSnapshot(inputs().options);
  let current: Run | undefined;
  // Token events land here and reach React at most once per frame.
  let pendingText = '';
  let pendingEvents: ServerSentEvent[] = [];
  let dirty = false;
  const options = () => inputs().options;
  const maxEvents = () => checkMaxEvents(options().maxEvents ?? 100);
  const scheduler = createFlushScheduler(flush, () => options().flushMs ?? 50);

  function merged(): EventStreamSnapshot {
    const max = maxEvents();
    const events =
      pendingEvents.length === 0 ? snapshot.events : [...snapshot.events, ...pendingEvents];
    return {
      ...snapshot,
      text: snapshot.text + pendingText,
      events: events.length > max ? events.slice(events.length - max) : events,
      lastEventId: current?.stream?.lastEventId ?? snapshot.lastEventId,
    };
  }

  function flush(): void {
    if (!dirty) return;
    update({});
  }

  /** Applies pending events and `patch`, and publishes at once (status changes are rare). */
  function update(patch: Partial<EventStreamSnapshot>): void {
    scheduler.cancel();
    snapshot = { ...merged(), ...patch };
    pendingText = '';
    pendingEvents = [];
    dirty = false;
    publish(snapshot);
  }

  function cancel(run: Run | undefined): void {
    if (!run) return;
    run.cancelled = true;
    run.stream?.close();
  }

  function open(run: Run, body: unknown): void {
    const { url, options: opts } = inputs();
    const streamOptions: FetchEventStreamOptions = {
      ...clientOptions(opts),
      ...(body === undefined ? {} : { json: body }),
      onOpen(response) {
        if (!live(run)) return;
        update({ status: 'open', retry: undefined });
        options().onOpen?.(response);
      },
      onEvent(event) {
        if (!live(run)) return;
        const delta = (options().toText ?? defaultToText)(event);
        if (delta) pendingText += delta;
        const max = maxEvents();
        if (max > 0) {
          pendingEvents.push(event);
          // Thousands of events between two frames: keep only what `events` can show.
          if (pendingEvents.length > 2 * max) pendingEvents = pendingEvents.slice(-max);
        }
        dirty = true;
        scheduler.schedule();
        options().onEvent?.(event);
      },
      onRetry({ attempt, delayMs, error }) {
        if (!live(run)) return;
        update({ status: 'reconnecting', retry: { attempt, delayMs, error } });
        const { text, lastEventId } = snapshot;
        options().onRetry?.({ attempt, delayMs, error, text, lastEventId });
      },
      onClose: (info) => close(run, info),
    };
    try {
      run.stream = startEventStream(url, streamOptions);
    } catch (error) {
      // A bad option (a TypeError that names it): shown like any failure, since start() returned.
      close(run, { reason: 'error', error });
    }
  }

  function close(run: Run, info: CloseInfo): void {
    if (!live(run)) return;
    // Publish while `current` is still this run, so the final lastEventId is the stream's.
    if (info.reason === 'error') {
      update({ status: 'error', error: info.error, retry: undefined });
      current = undefined;
      options().onError?.(info.error);
      return;
    }
    update({ status: 'closed', retry: undefined });
    current = undefined;
    const { text, lastEventId } = snapshot;
    options().onDone?.(
      info.event ? { text, event: info.event, lastEventId } : { text, lastEventId },
    );
  }

  function live(run: Run): boolean {
    return current === run && !run.cancelled;
  }

  return {
    start(body?: unknown) {
      maxEvents(); // a programmer mistake throws here, before anything changes
      cancel(current);
      const run: Run = { stream: undefined, cancelled: false };
      current = run;
      pendingText = '';
      pendingEvents = [];
      update({ ...initialSnapshot(options()), status: 'connecting' });
      // StrictMode mounts, unmounts and mounts again in one synchronous pass: deferring the
      // request to a microtask lets that unmount cancel it before anything is sent.
      queueMicrotask(() => {
        if (live(run)) open(run, body);
      });
    },
    stop() {
      if (!current) return;
      update({ status: 'closed', retry: undefined });
      const run = current;
      current = undefined;
      run.cancelled = true;
      // Stops the producer too when the server is ssekit's hub; only closes the connection
      // otherwise (or when the request has not gone out yet).
      const stopped = run.stream?.stop() ?? Promise.resolve(NOT_STARTED);
      void stopped.then((result) => reportStop(result, options().onStop));
    },
    unmount() {
      const run = current;
      current = undefined;
      cancel(run);
      scheduler.cancel();
    },
  };
}

const NOT_STARTED: StopResult = { outcome: 'not-cancellable', runId: undefined };

function reportStop(result: StopResult, onStop: ((result: StopResult) => void) | undefined): void {
  if (onStop) onStop(result);
  else if (result.outcome === 'failed') {
    console.warn('ssekit: stop() could not cancel the run on the server:', result.error);
  }
}

/**
 * The hook's own options, once: `satisfies` fails the build when the hook gets an option that is
 * not listed here (it would reach `fetchEventStream`).
 */
const OWN_OPTIONS = {
  maxEvents: true,
  toText: true,
  flushMs: true,
  onOpen: true,
  onEvent: true,
  onRetry: true,
  onDone: true,
  onError: true,
  onStop: true,
} as const satisfies Record<UseEventStreamOwnOption, true>;

/** The options of `fetchEventStream` among the hook's. */
function clientOptions(options: UseEventStreamOptions): FetchEventStreamOptions {
  const picked: Record<string, unknown> = {};
  for (const key of Object.keys(options)) {
    if (!Object.hasOwn(OWN_OPTIONS, key)) picked[key] = options[key as keyof UseEventStreamOptions];
  }
  return picked as FetchEventStreamOptions;
}

function checkMaxEvents(value: number): number {
  if (!(Number.isSafeInteger(value) && value >= 0)) {
    throw new TypeError(`useEventStream: maxEvents must be a non-negative integer, got ${value}.`);
  }
  return value;
}
