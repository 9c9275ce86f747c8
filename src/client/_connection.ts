/**
 * The connection core shared by every client surface (`fetchEventStream`, `EventSource`, and
 * through the former the React hook and the CLI): one attempt after another, each resuming from
 * the last event ID, until the surface says the stream is complete or has failed.
 *
 * A surface passes one {@link Connection}: what to send, what ends the stream, what to do after
 * each attempt ({@link Decide}), and the callbacks it maps to its own API. The core reports how
 * each attempt ended, classified by where the failure came from (see {@link Phase}), never by an
 * error's message text, so the rule holds on every runtime: a body cut on Deno ("error reading a
 * body from connection") and a refused connection on Bun ("ECONNREFUSED") are what they are
 * everywhere.
 *
 * Kept in one function on purpose: the attempt's phases, its cleanup and its classification read
 * top to bottom, and the client's bundle stays within its size budget (`npm run size`).
 * @internal
 */
import { discard, isEventStreamType, responseError } from '../_internal/http.ts';
import { sleep } from '../_internal/timers.ts';
import { StreamError } from '../errors.ts';
import { createParser } from '../protocol/parser.ts';
import type { ServerSentEvent } from '../protocol/types.ts';
import type { IdleSetting, IdleWatch } from './_idle.ts';
import { runStartId } from './_run-start.ts';
import { endsInsideEvent } from './_stream-end.ts';
import type { FetchLike, ReadyState, ResumeBuilder } from './types.ts';

/**
 * Where an attempt's failure came from (numbers: the bundle inlines them):
 * - `FATAL`: a mistake, whatever the network did: a request `fetch` refuses (a bad header or
 *   method), an event over `maxEventSize`, a callback (or a terminal rule) that threw;
 * - `CONNECT`: `fetch()` rejected: the network, before any response;
 * - `RESPONSE`: the response was refused (its status or content type);
 * - `BODY`: reading the body failed, went idle, or the body ended inside an event: a cut;
 * - `TERMINAL`: the server's error event (the terminal rule's `error`);
 * - `ENDED`: no failure, the body ended at an event boundary.
 */
export type Phase = 0 | 1 | 2 | 3 | 4 | 5;
export const FATAL = 0;
export const CONNECT = 1;
export const RESPONSE = 2;
export const BODY = 3;
export const TERMINAL = 4;
export const ENDED = 5;

/**
 * After an attempt that did not complete the stream, what to do: the delay before the next attempt,
 * `undefined` for completion; a throw fails the stream. It gets where the attempt failed (or
 * `ENDED`) and why; whether the attempt delivered new events (a new last event ID, or any event of
 * a stream without ids); whether a `retry:` field came after the last event (the server asks to
 * be resumed); whether the next request would resume rather than re-run (an event ID to send, or
 * a GET); and the attempt's method and URL, for messages.
 */
export type Decide = (
  phase: Phase,
  error: unknown,
  fresh: boolean,
  resumeAsked: boolean,
  canResume: () => boolean,
  method: string,
  url: string,
) => number | undefined;

/** How an event ends the stream: delivered first or not, and failing with `error` when set. */
export interface Ending {
  deliver?: boolean | undefined;
  error?: unknown;
}

/**
 * One connection: what to send, what its surface decides, the callbacks it maps to its API, and
 * the state the core shares with it while it runs.
 */
export interface Connection {
  url: string;
  /** The first request's init, without `signal`. */
  init: RequestInit;
  fetch: FetchLike;
  /** Builds the request that resumes the stream. */
  resume?: ResumeBuilder | undefined;
  maxEventSize?: number | undefined;
  idleTimeoutMs?: IdleSetting;
  /**
   * Starts an attempt's idle timer (`watchIdle` over `idleTimeoutMs`, with one learner per
   * connection): passed in, so that a surface without idle timeouts (`EventSource`) does not
   * carry the code.
   */
  watchIdle?: ((onIdle: (timeoutMs: number) => void) => IdleWatch | undefined) | undefined;
  /** Whether comments count as activity for a fixed `idleTimeoutMs`. */
  commentsResetIdle?: boolean | undefined;
  /** Drop the connection while the page is hidden (once it can be resumed), wait until visible. */
  pauseWhenHidden?: boolean | undefined;
  /** The spec's rule (`EventSource`): only a 200 is accepted, and a 204 is an error too. */
  strict?: boolean;
  /** Which events end the stream. */
  isTerminal?: ((event: ServerSentEvent) => Ending | false | null | undefined) | undefined;
  decide: Decide;
  onOpen(response: Response): void;
  /** A delivered event; a returned promise pauses reading until it settles (backpressure). */
  onEvent(event: ServerSentEvent): void | Promise<void>;
  /** A `retry:` field. */
  onServerRetry?: ((retryMs: number) => void) | undefined;
  onComment?: ((comment: string) => void) | undefined;

  /** The stream's last event ID: what a reconnection sends as `Last-Event-ID`. */
  lastEventId: string;
  /** Events delivered since the stream started. */
  delivered: number;
  /** The server's last `retry:` value. */
  serverRetryMs?: number | undefined;
  /** The event that ended the current attempt (a terminal event), if one did. */
  terminal?: ServerSentEvent | undefined;
  /** `connecting` (also while waiting to reconnect), `open` once a response is accepted. */
  readyState: ReadyState;
}

interface VisibilityDocument extends EventTarget {
  readonly visibilityState: string;
}

const PAUSED = Symbol();

/**
 * Runs the connection until it ends: resolves with the terminal event that completed it (or
 * `undefined` when the body ended), `null` for HTTP 204; rejects with a fatal error or the signal's
 * reason.
 */
export async function runConnection(
  connection: Connection,
  signal: AbortSignal,
): Promise<ServerSentEvent | undefined | null> {
  // Looked up on globalThis, so the client loads where there is no document (it never pauses).
  const doc = connection.pauseWhenHidden
    ? (globalThis as { document?: VisibilityDocument }).document
    : undefined;
  let controller: AbortController | undefined; // the current attempt's
  let wake: (() => void) | undefined; // waits for the page to show
  let closing = false; // the signal aborted: read per event, cheaper than asking the signal
  signal.addEventListener('abort', () => {
    closing = true;
    controller?.abort();
    wake?.();
  });
  // Hiding the page drops the connection only when it can be resumed, never re-run.
  doc?.addEventListener(
    'visibilitychange',
    () => {
      if (doc.visibilityState !== 'hidden') wake?.();
      else if (connection.lastEventId !== '') controller?.abort(PAUSED);
    },
    { signal },
  );
  for (let attempt = 1; ; attempt++) {
    while (doc?.visibilityState === 'hidden' && !signal.aborted)
      await new Promise<void>((resolve) => (wake = resolve));
    signal.throwIfAborted();
    connection.readyState = 'connecting';
    connection.terminal = undefined;
    const idBefore = connection.lastEventId;
    let deliveredNow = 0;
    let phase: Phase = FATAL;
    let resumeAsked = false;
    let { url, init } = connection;
    let method = methodOf(init);
    let idle: IdleWatch | undefined;
    let idled: StreamError | undefined;
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    let failure: unknown;
    const attemptController = new AbortController();
    controller = attemptController;
    try {
      if (attempt > 1 && connection.resume) {
        const resumed = connection.resume({
          url,
          init,
          lastEventId: connection.lastEventId,
          attempt,
        });
        if (resumed.url !== undefined) url = String(resumed.url);
        init = resumed.init ?? init;
        method = methodOf(init);
      }
      const headers = new Headers(init.headers);
      // Spec: the ID "encoded as UTF-8". A header value is a byte string, one character per byte
      // (Headers refuses any past U+00FF): an ID like `é` goes as its two bytes. A lone surrogate
      // (no decoded stream has one; a `lastEventId` option might) throws a URIError.
      if (connection.lastEventId !== '' && !headers.has('last-event-id'))
        headers.set('last-event-id', unescape(encodeURIComponent(connection.lastEventId)));
      if (!headers.has('accept')) headers.set('accept', 'text/event-stream');
      // The wait for the response counts.
      idle = connection.watchIdle?.((ms) => {
        idled = new StreamError(
          'idle-timeout',
          `No event arrived within idleTimeoutMs (${connection.idleTimeoutMs === 'auto' ? "'auto', " : ''}${ms} ms): ${method} ${url}`,
        );
        attemptController.abort();
      });
      phase = CONNECT;
      let response: Response;
      try {
        response = await connection.fetch(url, {
          ...init,
          headers,
          signal: attemptController.signal,
        });
      } catch (error) {
        // fetch() rejects with a TypeError both for the network and for a request it refuses;
        // only the second can be reproduced without the network.
        if (refusesRequest(url, init)) phase = FATAL;
        throw error;
      }
      phase = RESPONSE;
      if (response.status === 204 && !connection.strict) return null; // the spec's "do not reconnect"
      const ok = connection.strict ? response.status === 200 : response.ok;
      if (!ok || !isEventStreamType(response.headers.get('content-type')))
        throw await responseError(
          response,
          method,
          url,
          ok ? 'invalid-content-type' : 'http-error',
        );
      phase = FATAL;
      connection.readyState = 'open';
      // A hub run's response: until an event id arrives, resuming reads the run from its start.
      if (connection.lastEventId === '') connection.lastEventId = runStartId(response);
      connection.onOpen(response);
      signal.throwIfAborted(); // closed from inside onOpen
      idle?.opened();
      phase = BODY;
      // A 200 without a body (HEAD, some mocks) is an empty stream.
      if (response.body) {
        const events: ServerSentEvent[] = [];
        // Without onError, an oversized event makes feed() throw (after the rest of the chunk).
        const parser = createParser({
          lastEventId: connection.lastEventId,
          maxEventSize: connection.maxEventSize,
          onEvent: (event) => {
            resumeAsked = false;
            events.push(event);
          },
          onComment: (comment) => {
            if (connection.commentsResetIdle) idle?.activity();
            connection.onComment?.(comment);
          },
          onRetry: (retryMs) => {
            resumeAsked = true;
            connection.serverRetryMs = retryMs;
            connection.onServerRetry?.(retryMs);
          },
        });
        reader = response.body.getReader();
        // The last two non-empty chunks, to tell a clean end from one inside an event.
        let previous: Uint8Array | undefined;
        let last: Uint8Array | undefined;
        let chunks = 0;
        for (;;) {
          phase = BODY;
          const { done, value } = await reader.read();
          if (done) break;
          if (value.length > 0) {
            previous = last;
            last = value;
            chunks++;
          }
          idle?.chunk();
          phase = FATAL;
          parser.feed(value);
          // An indexed loop: an array iterator held across the await below would be allocated.
          for (let index = 0; index < events.length; index++) {
            const event = events[index]!;
            connection.lastEventId = event.id;
            const ending = connection.isTerminal?.(event);
            if (!ending || ending.deliver) {
              connection.delivered++;
              deliveredNow++;
              idle?.activity();
              // Awaited only when the loop's buffer is full: an await per event would cost a
              // turn of the microtask queue each.
              const backpressure = connection.onEvent(event);
              if (backpressure) await backpressure;
              if (closing) throw signal.reason; // closed from inside a listener
            }
            if (ending) {
              connection.terminal = event;
              if (ending.error === undefined) return event;
              phase = TERMINAL;
              throw ending.error;
            }
          }
          events.length = 0;
          connection.lastEventId = parser.lastEventId; // an id-only block
        }
        // A body that stops inside an event was cut (a proxy or platform ending it cleanly).
        if (endsInsideEvent(previous, last, chunks <= 2)) {
          phase = BODY;
          throw new StreamError(
            'stream-cut',
            `The response ended in the middle of an event: ${method} ${url}`,
          );
        }
      }
      phase = ENDED;
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      if (attemptController.signal.reason === PAUSED) continue; // resumed when the page shows
      if (idled) phase = BODY;
      failure = idled ?? error;
    } finally {
      connection.readyState = 'connecting';
      idle?.stop();
      // Frees the socket at once, whatever ended the attempt (a terminal event, an error, a break).
      attemptController.abort();
      discard(reader);
    }
    const delayMs = connection.decide(
      phase,
      failure,
      // Only new events count as progress: a server that replays the same events (or none) on
      // every reconnection reaches the retry limit.
      deliveredNow > 0 && (connection.lastEventId !== idBefore || connection.lastEventId === ''),
      resumeAsked,
      () => canResume(connection, attempt + 1),
      method,
      url,
    );
    if (delayMs === undefined) return undefined;
    await sleep(delayMs, signal);
  }
}

/** The method of a request init, upper-cased as fetch normalizes it. */
export function methodOf(init: RequestInit): string {
  return (init.method ?? 'GET').toUpperCase();
}

/** Resuming, not re-running: an event ID to send as `Last-Event-ID`, or a GET (safe to repeat). */
function canResume(connection: Connection, attempt: number): boolean {
  const { url, lastEventId } = connection;
  let init = connection.init;
  if (lastEventId !== '') return true;
  try {
    init = connection.resume?.({ url, init, lastEventId, attempt }).init ?? init;
  } catch {
    return false; // it throws again when the attempt builds its request, and fails there
  }
  return methodOf(init) === 'GET';
}

/**
 * True when `new Request(url, init)` refuses what fetch was given: a bad method, a body on a GET,
 * a URL that cannot be parsed. A relative URL is resolved against the page when there is one,
 * else against a placeholder origin (only a custom `fetch` could take it).
 */
function refusesRequest(url: string, init: RequestInit): boolean {
  try {
    const base = (globalThis as { location?: { href?: string } }).location?.href;
    new Request(new URL(url, base ?? 'http://localhost/'), { ...init, signal: null });
    return false;
  } catch {
    return true;
  }
}
