/**
 * One attempt of a connection: build the request, fetch, accept the response, read events until
 * the body ends, a terminal event, a failure or cancellation. Failures are classified by where
 * they are thrown (see {@link FailurePhase}), so a body cut on Deno ("error reading a body from
 * connection") and a refused connection on Bun ("ECONNREFUSED") are what they are on every
 * runtime.
 * @internal
 */
import { type ParseError, StreamError } from '../errors.ts';
import { createParser } from '../protocol/parser.ts';
import type { ServerSentEvent } from '../protocol/types.ts';
import type {
  AttemptEnd,
  ConnectionEmit,
  ConnectionPolicy,
  ConnectionRequest,
  ConnectionState,
  FailurePhase,
} from './_connection.ts';
import { type IdleWatch, watchIdle } from './_idle.ts';
import { endsInsideEvent } from './_stream-end.ts';

/** How an attempt ended. */
export type AttemptResult =
  | { type: 'complete'; event: ServerSentEvent | undefined }
  | { type: 'no-content' }
  /** Dropped for a hidden page, to be resumed when it shows. */
  | { type: 'paused' }
  /** The connection's signal aborted (close, a break, the user's signal): the caller throws. */
  | { type: 'closed' }
  | (AttemptEnd & { method: string; url: string });

interface Attempt {
  request: ConnectionRequest;
  policy: ConnectionPolicy;
  signal: AbortSignal;
  state: ConnectionState;
  attempt: number;
}

const PAUSED = Symbol('paused');
const IDLE = Symbol('idle');

export async function runAttempt(context: Attempt, emit: ConnectionEmit): Promise<AttemptResult> {
  const { policy, signal, state } = context;
  let target: { url: string; init: RequestInit; method: string };
  try {
    target = buildRequest(context);
  } catch (error) {
    const method = (context.request.init.method ?? 'GET').toUpperCase();
    return { type: 'failed', phase: 'request', error, method, url: context.request.url };
  }
  const { url, init, method } = target;
  const fail = (phase: FailurePhase, error: unknown) =>
    ({ type: 'failed', phase, error, method, url }) as const;
  const controller = new AbortController();
  const onAbort = () => controller.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  // Pausing (a hidden page) drops the connection only when it can be resumed, never re-run.
  const unsubscribe = policy.pause?.subscribe(() => {
    if (policy.pause?.isPaused() && state.lastEventId !== '') controller.abort(PAUSED);
  });
  const idle = watchIdle(policy.idleTimeoutMs, state.idle, () => controller.abort(IDLE));
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  const interrupted = (): AttemptResult | undefined => {
    if (signal.aborted || !controller.signal.aborted) return undefined;
    if (controller.signal.reason === PAUSED) return { type: 'paused' };
    if (controller.signal.reason === IDLE)
      return fail('body', idleError(policy.idleTimeoutMs, idle, method, url));
    return undefined;
  };
  try {
    let response: Response;
    try {
      response = await context.request.fetch(url, { ...init, signal: controller.signal });
    } catch (error) {
      // fetch() rejects with a TypeError both for the network and for a request it refuses; only
      // the second can be reproduced without the network.
      return interrupted() ?? fail(refusesRequest(url, init) ? 'request' : 'connect', error);
    }
    try {
      if (!(await policy.accept(response, method, url))) return { type: 'no-content' };
    } catch (error) {
      return interrupted() ?? fail('response', error);
    }
    try {
      await emit({ type: 'open', response });
    } catch (error) {
      return fail('consumer', error);
    }
    if (signal.aborted) return { type: 'closed' }; // closed from inside onOpen
    idle?.opened();
    // A 200 without a body (HEAD, some mocks) is an empty stream.
    if (!response.body) return { type: 'ended', resumeAsked: false, method, url };
    reader = response.body.getReader();
    return await readEvents(context, reader, idle, emit, { method, url });
  } catch (error) {
    // A read that failed: the body was cut (or the attempt was interrupted).
    return interrupted() ?? (signal.aborted ? { type: 'closed' } : fail('body', error));
  } finally {
    idle?.stop();
    unsubscribe?.();
    signal.removeEventListener('abort', onAbort);
    // Frees the socket at once, whatever ended the attempt (a terminal event, an error, a break).
    if (!controller.signal.aborted) controller.abort();
    reader?.cancel().catch(ignoreCancelError);
  }
}

/** Thrown out of the read loop for a failure that is not the body's: never classified as a cut. */
class Classified {
  constructor(readonly result: AttemptResult) {}
}

async function readEvents(
  context: Attempt,
  reader: ReadableStreamDefaultReader<Uint8Array>,
  idle: IdleWatch | undefined,
  emit: ConnectionEmit,
  where: { method: string; url: string },
): Promise<AttemptResult> {
  const { policy, state } = context;
  const events: ServerSentEvent[] = [];
  let parseError: ParseError | undefined;
  let consumerError: { error: unknown } | undefined;
  // A `retry:` after the last event: the server asks to be resumed when the body ends.
  let resumeAsked = false;
  const tell = (message: Parameters<ConnectionEmit>[0]) => {
    try {
      void emit(message);
    } catch (error) {
      consumerError ??= { error };
    }
  };
  const parser = createParser({
    lastEventId: state.lastEventId,
    maxEventSize: policy.maxEventSize,
    onEvent: (event) => {
      resumeAsked = false;
      events.push(event);
    },
    onComment: (comment) => {
      if (policy.commentsResetIdle) idle?.activity();
      tell({ type: 'comment', comment });
    },
    onRetry: (retryMs) => {
      resumeAsked = true;
      state.serverRetryMs = retryMs;
      tell({ type: 'retry', retryMs });
    },
    onError: (error) => {
      parseError ??= error;
    },
  });
  const failed = (phase: 'parse' | 'terminal' | 'consumer', error: unknown): AttemptResult => ({
    type: 'failed',
    phase,
    error,
    ...where,
  });
  let previous: Uint8Array | undefined;
  let last: Uint8Array | undefined;
  let chunks = 0;
  const deliver = async (event: ServerSentEvent): Promise<void> => {
    state.delivered++;
    state.deliveredNow++;
    idle?.activity();
    try {
      const pending = emit({ type: 'event', event });
      if (pending) await pending;
    } catch (error) {
      throw new Classified(failed('consumer', error));
    }
    if (state.closed) throw new Classified({ type: 'closed' }); // closed from inside a listener
  };
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        // A body that stops inside an event was cut (a proxy or platform ending it cleanly).
        if (!endsInsideEvent(previous, last, chunks <= 2))
          return { type: 'ended', resumeAsked, ...where };
        return { type: 'failed', phase: 'body', ...endedEarly(where.method, where.url), ...where };
      }
      if (value.length > 0) {
        previous = last;
        last = value;
        chunks++;
      }
      idle?.chunk();
      parser.feed(value);
      if (consumerError) return failed('consumer', consumerError.error);
      if (parseError) return failed('parse', parseError);
      for (let index = 0; index < events.length; index++) {
        const event = events[index]!;
        state.lastEventId = event.id;
        let terminal: ReturnType<ConnectionPolicy['terminal']>;
        try {
          terminal = policy.terminal(event);
        } catch (error) {
          return failed('consumer', error); // the user's isTerminal threw
        }
        if (terminal === undefined) {
          await deliver(event);
          continue;
        }
        if (terminal.deliver) await deliver(event);
        tell({ type: 'terminal', event });
        if (terminal.kind === 'error') return failed('terminal', terminal.error);
        return { type: 'complete', event };
      }
      events.length = 0;
      if (parser.lastEventId !== state.lastEventId) {
        state.lastEventId = parser.lastEventId; // an id-only block
        tell({ type: 'id', lastEventId: state.lastEventId });
      }
    }
  } catch (error) {
    if (error instanceof Classified) return error.result;
    throw error; // the body: classified by the caller
  }
}

function buildRequest(context: Attempt): { url: string; init: RequestInit; method: string } {
  const { request, state, attempt } = context;
  let url = request.url;
  let init = request.init;
  if (attempt > 1 && request.resume) {
    const resumed = request.resume({ url, init, lastEventId: state.lastEventId, attempt });
    if (resumed.url !== undefined) url = String(resumed.url);
    if (resumed.init !== undefined) init = resumed.init;
  }
  const headers = new Headers(init.headers);
  if (state.lastEventId !== '' && !headers.has('last-event-id'))
    headers.set('last-event-id', state.lastEventId);
  if (!headers.has('accept')) headers.set('accept', 'text/event-stream');
  return { url, init: { ...init, headers }, method: (init.method ?? 'GET').toUpperCase() };
}

/**
 * True when `new Request(url, init)` refuses what fetch was given: a bad method, a body on a GET,
 * a URL that cannot be parsed. A relative URL is resolved against the page when there is one;
 * without a page only a custom `fetch` could take it, so it is left to that fetch.
 */
function refusesRequest(url: string, init: RequestInit): boolean {
  const base = (globalThis as { location?: { href?: unknown } }).location?.href;
  let absolute: string;
  try {
    absolute = new URL(url, typeof base === 'string' ? base : undefined).href;
  } catch {
    if (typeof base === 'string' || /^[a-z][a-z\d+.-]*:/i.test(url)) return true;
    absolute = 'http://localhost/';
  }
  try {
    new Request(absolute, { ...init, signal: null });
    return false;
  } catch {
    return true;
  }
}

function idleError(
  setting: ConnectionPolicy['idleTimeoutMs'],
  idle: IdleWatch | undefined,
  method: string,
  url: string,
): StreamError {
  const within =
    setting === 'auto'
      ? `the idle timeout learned from the stream's cadence (idleTimeoutMs: 'auto', ${idle?.timeoutMs} ms)`
      : `idleTimeoutMs (${idle?.timeoutMs} ms)`;
  return new StreamError('idle-timeout', `No event arrived within ${within}: ${method} ${url}`);
}

function endedEarly(method: string, url: string): { error: StreamError } {
  return {
    error: new StreamError(
      'stream-cut',
      `The response ended in the middle of an event: ${method} ${url}`,
    ),
  };
}

// Cancelling a body that already errored or was aborted rejects; the attempt is over either way,
// and the error that ended it has already been reported.
function ignoreCancelError(): void {}
