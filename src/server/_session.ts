/**
 * One event stream from start to end: the outbox, the heartbeat, the deadline, the producer's
 * signal, and the wire protocol's endings.
 *
 * Phases: `producing` (the producer runs; heartbeat and deadline armed), `flushing` (the producer
 * is over; the terminal event and whatever is queued go out) and `finished` (everything released).
 * The producer's side ends the first phase (`finish`); the consumer's side can end any phase
 * (`terminate`: it left, or it was dropped as too slow).
 */
import { StreamError } from '../errors.ts';
import { encodeEvent } from '../protocol/encode.ts';
import { encodeStreamEvent, serialiseData } from './_encode.ts';
import { createOutbox } from './_outbox.ts';
import { isCancellation, runProducer } from './_run-producer.ts';
import { startHeartbeat, startTimer } from './_timers.ts';
import type { EventStream, EventStreamProducer } from './event-stream.ts';
import type { ResolvedEventStreamOptions } from './options.ts';
import { defaultPublicError, type PublicError } from './public-error.ts';

/** What {@link openSession} needs. */
export interface SessionInit {
  /** The request answered; its `signal` aborting means the client left. */
  request: Request | undefined;
  lastEventId: string;
  options: ResolvedEventStreamOptions;
}

/** A running event stream: its body, and the producer to run into it. */
export interface Session {
  readonly readable: ReadableStream<Uint8Array>;
  /** Starts the producer; the returned promise settles when it does and never rejects. */
  run(producer: EventStreamProducer): Promise<void>;
}

type Outcome =
  | { kind: 'done'; value: unknown }
  | { kind: 'error'; error: unknown }
  | { kind: 'deadline' };

const HEARTBEAT = encodeEvent({ comment: '' });
const RESOLVED: Promise<void> = Promise.resolve();

/**
 * Opens a session; see the module comment. One closure owns the session's state (longer than the
 * house limit of ~50 lines, on purpose): its parts are the short inner functions, which share that
 * state and would otherwise need an object passed around or a class.
 */
export function openSession(init: SessionInit): Session {
  const { options, request } = init;
  const abort = new AbortController();
  const signal = abort.signal;
  let phase: 'producing' | 'flushing' | 'finished' = 'producing';

  const report = (error: unknown) => {
    try {
      options.onError(error);
    } catch (hookError) {
      console.error('ssekit: onError threw', hookError, 'while reporting', error);
    }
  };
  const where = request ? `${request.method} ${request.url}` : 'a relayed stream';
  const dropSlowConsumer = (why: string) => {
    const error = new StreamError('slow-consumer', `Dropped the client of ${where}: ${why}.`);
    report(error);
    terminate(error);
  };

  const outbox = createOutbox({
    highWaterMark: options.highWaterMark,
    maxBufferedBytes: options.maxBufferedBytes,
    writeTimeoutMs: options.writeTimeoutMs,
    onCancel: (reason) => terminate(reason ?? clientGone()),
    onStall: () =>
      dropSlowConsumer(
        `it read nothing for writeTimeoutMs (${options.writeTimeoutMs} ms) with ${outbox.bufferedBytes} bytes waiting`,
      ),
    onOverflow: () =>
      dropSlowConsumer(
        `${outbox.bufferedBytes} bytes queued, more than maxBufferedBytes (${options.maxBufferedBytes})`,
      ),
    onClosed: () => cleanup(),
  });
  // A heartbeat behind queued data would prove nothing and only add to the queue.
  const heartbeat = startHeartbeat(options.heartbeatMs, () => {
    if (outbox.bufferedBytes === 0) outbox.push(HEARTBEAT);
  });
  const cancelDeadline =
    options.deadlineMs === undefined
      ? () => {}
      : startTimer(() => finish({ kind: 'deadline' }), options.deadlineMs);
  const clientSignal = request?.signal;
  const onClientAbort = () => terminate(clientSignal?.reason ?? clientGone());
  const onShutdown = () => finish({ kind: 'deadline' });
  clientSignal?.addEventListener('abort', onClientAbort, { once: true });
  options.signal?.addEventListener('abort', onShutdown, { once: true });

  function cleanup(): void {
    phase = 'finished';
    heartbeat.stop();
    cancelDeadline();
    clientSignal?.removeEventListener('abort', onClientAbort);
    options.signal?.removeEventListener('abort', onShutdown);
  }

  function finish(outcome: Outcome): void {
    if (phase !== 'producing') return;
    phase = 'flushing';
    heartbeat.stop();
    cancelDeadline();
    if (outcome.kind === 'error') report(outcome.error);
    const text = terminalText(outcome, options, report);
    if (text !== undefined) outbox.push(text, undefined, true);
    abort.abort(
      outcome.kind === 'deadline'
        ? new DOMException(`The event stream of ${where} reached its deadline.`, 'TimeoutError')
        : new DOMException(`The event stream of ${where} ended.`, 'AbortError'),
    );
    outbox.end();
  }

  function terminate(reason: unknown): void {
    if (phase === 'finished') return;
    cleanup();
    outbox.fail(reason);
    abort.abort(reason);
  }

  function write(text: string, key?: string): Promise<void> {
    if (signal.aborted) return rejected(signal.reason);
    heartbeat.touch();
    const wait = outbox.push(text, key);
    if (signal.aborted) return rejected(signal.reason); // that push overflowed: the client is gone
    if (wait === undefined) return RESOLVED;
    wait.then(undefined, ignoreUnawaited);
    return wait;
  }

  const stream = createStreamObject(
    init,
    signal,
    write,
    () => finish({ kind: 'done', value: undefined }),
    () => outbox.bufferedBytes,
  );
  if (clientSignal?.aborted) onClientAbort();
  else if (options.signal?.aborted) onShutdown();

  return {
    readable: outbox.readable,
    async run(producer) {
      if (signal.aborted) return;
      try {
        const value = await runProducer(producer, stream, report);
        finish({ kind: 'done', value });
      } catch (error) {
        if (!signal.aborted) finish({ kind: 'error', error });
        else if (!isCancellation(error, signal)) report(error);
      }
    },
  };
}

function terminalText(
  outcome: Outcome,
  options: ResolvedEventStreamOptions,
  report: (error: unknown) => void,
): string | undefined {
  if (outcome.kind === 'deadline') {
    const jitter = Math.floor(Math.random() * options.retryJitterMs);
    return encodeEvent({ retry: options.retryMs + jitter });
  }
  if (!options.terminalEvents) return undefined;
  if (outcome.kind === 'error') {
    let payload: PublicError;
    try {
      payload = options.publicError?.(outcome.error) ?? defaultPublicError(outcome.error);
    } catch (mapError) {
      report(mapError);
      payload = defaultPublicError(undefined);
    }
    return encodeEvent({ event: 'error', data: JSON.stringify(payload) });
  }
  let data: string;
  try {
    data = serialiseData(outcome.value ?? {}) ?? '{}';
  } catch (error) {
    report(error);
    data = '{}';
  }
  return encodeEvent({ event: 'done', data });
}

function createStreamObject(
  init: SessionInit,
  signal: AbortSignal,
  write: (text: string, key?: string) => Promise<void>,
  close: () => void,
  bufferedBytes: () => number,
): EventStream {
  return {
    send: (event, sendOptions) => write(encodeStreamEvent(event), sendOptions?.coalesce),
    comment: (text = '') => write(encodeEvent({ comment: text })),
    progress(progress, progressOptions) {
      const { phase, fraction } = progress ?? {};
      if (typeof phase !== 'string') {
        throw new TypeError(`progress: phase must be a string, got ${typeof phase}.`);
      }
      if (
        fraction !== undefined &&
        !(typeof fraction === 'number' && fraction >= 0 && fraction <= 1)
      ) {
        throw new TypeError(
          `progress: fraction must be a number from 0 to 1, got ${String(fraction)}.`,
        );
      }
      const key = progressOptions?.coalesce ?? 'progress';
      const text = encodeStreamEvent({ event: 'progress', data: progress });
      return write(text, key === false ? undefined : key);
    },
    close,
    signal,
    lastEventId: init.lastEventId,
    get request(): Request {
      if (!init.request) throw new TypeError('This event stream answers no request (a relay).');
      return init.request;
    },
    get bufferedBytes() {
      return bufferedBytes();
    },
  };
}

function clientGone(): DOMException {
  return new DOMException('The client closed the event stream.', 'AbortError');
}

function rejected(reason: unknown): Promise<never> {
  const promise = Promise.reject(reason);
  promise.then(undefined, ignoreUnawaited);
  return promise;
}

// The promises of send() reject once the stream is over, which is how an awaiting producer learns
// it should stop. A producer that fires and forgets must not crash the process with an unhandled
// rejection for it: this handler marks them handled. Whoever awaits still gets the rejection.
function ignoreUnawaited(): void {}
