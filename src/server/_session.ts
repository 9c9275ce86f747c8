/**
 * One event stream from start to end: the outbox, the heartbeat, the deadline, the producer's
 * signal, and the wire protocol's endings.
 *
 * Phases: `producing` (the producer runs; heartbeat and deadline armed), `flushing` (the producer
 * is over; the terminal event and whatever is queued go out) and `finished` (everything released).
 * The producer's side ends the first phase (`finish`); the consumer's side can end any phase
 * (`terminate`: it left, or it was dropped as too slow).
 *
 * The session owns an outbox (src/server/_outbox.ts) and is the one object it reports to, and
 * it is what the other sides see of a stream: the body the Node adapter writes to its socket
 * (`DirectBody`, src/_internal/direct-lane.ts) and the stream the hub's topics feed
 * (`FanOutSession`, src/_internal/fan-out.ts). A class, for the memory of idle connections: its
 * timers call shared functions with the session as argument, and the producer's `AbortSignal` is
 * made only when someone asks for it (the hub's topic subscriptions, which run no producer, never
 * do).
 */

import { checkedWriter, type WriterChecks } from '../_internal/checked-writer.ts';
import type { ByteSink, DirectBody, RequestName } from '../_internal/direct-lane.ts';
import { isWatchedRequest, kRequestName, kWatchClient } from '../_internal/direct-lane.ts';
import type { FanOutOwner, FanOutSession } from '../_internal/fan-out.ts';
import { isCancellation, runProducer } from '../_internal/run-producer.ts';
import { bodyCancelledOnLeave, sharedTimersAllowed } from '../_internal/runtime.ts';
import { now, setTimer, type Timer } from '../_internal/timers.ts';
import { StreamError } from '../errors.ts';
import { encodeEvent } from '../protocol/encode.ts';
import { addHeartbeat, type Beating, removeHeartbeat } from './_heartbeats.ts';
import { Outbox, type OutboxOwner } from './_outbox.ts';
import { type Outcome, terminalText } from './_outcome.ts';
import { createStreamObject } from './_stream-object.ts';
import type { StreamEndReason, StreamObserver } from './observe.ts';
import type { ResolvedEventStreamOptions } from './options.ts';
import type { EventStreamProducer } from './types.ts';

/** What a {@link Session} needs. */
export interface SessionInit {
  /** The request answered; its `signal` aborting means the client left. */
  request: Request | undefined;
  options: ResolvedEventStreamOptions;
}

/** What only some sessions need: a signal someone asked for, a deadline, abort listeners. */
interface Extra {
  abort: AbortController | undefined;
  abortReason: unknown;
  deadline: Timer | undefined;
  /**
   * The heartbeat's own timer, only where the runtime does not let one timer serve every request
   * (workerd); elsewhere the shared clock beats for the stream (see _heartbeats.ts), and a field
   * less on the session keeps an idle connection smaller (on Bun, 80 bytes instead of 112).
   */
  heartbeat: Timer | undefined;
  clientSignal: AbortSignal | undefined;
  onClientAbort: (() => void) | undefined;
  onShutdown: (() => void) | undefined;
  /** Why the stream ended, for its observer (the first reason, unless the consumer cut it). */
  endReason: StreamEndReason | undefined;
  endError: unknown;
  /**
   * What `options.observe` returned for this stream (src/server/observe.ts). Here rather than a
   * field of the session: an idle connection of a stream nobody observes pays nothing for it.
   */
  observer: StreamObserver | undefined;
}

const HEARTBEAT = encodeEvent({ comment: '' });
const RESOLVED: Promise<void> = Promise.resolve();
const PRODUCING = 0;
const FLUSHING = 1;
const FINISHED = 2;

/**
 * A running event stream: its body, and what feeds it (a producer, or the hub). Longer than the
 * house limit of ~300 lines, on purpose: its parts share the session's state, which a split would
 * have to pass around or expose.
 */
export class Session implements DirectBody, FanOutSession, OutboxOwner, Beating {
  readonly options: ResolvedEventStreamOptions;
  readonly #outbox: Outbox;
  /** Told when the session stops taking events. */
  owner: FanOutOwner | undefined;
  /** Past `PRODUCING`, the stream takes no more events (it is `aborted`). */
  #phase: typeof PRODUCING | typeof FLUSHING | typeof FINISHED = PRODUCING;
  /** Its place in the shared clock of heartbeats; -1 when not there. */
  heartbeatIndex = -1;
  /** When the last event was queued, for the heartbeat (see `now()`). */
  #lastTraffic = now();
  /** The request answered; once released, what error messages call the stream. */
  #request: Request | RequestName | string | undefined;
  #extra: Extra | undefined;

  constructor(init: SessionInit) {
    const { options, request } = init;
    this.options = options;
    this.#outbox = new Outbox(this);
    this.#request = request;
    // First: everything below may end the stream at once, and the observer hears every end.
    const observer = options.observe?.({ request });
    if (observer !== undefined) Session.#more(this).observer = observer;
    // The shared clock where the runtime lets one timer serve every request; else a timer each.
    if (options.heartbeatMs > 0) {
      if (sharedTimersAllowed) addHeartbeat(this, this.heartbeatDue());
      else Session.#more(this).heartbeat = setTimer(Session.#beat, options.heartbeatMs, this);
    }
    if (options.deadlineMs !== undefined) {
      Session.#more(this).deadline = setTimer(Session.#deadlineReached, options.deadlineMs, this);
    }
    const shutdown = options.signal;
    if (shutdown) {
      const onShutdown = () => Session.#shutDown(this);
      Session.#more(this).onShutdown = onShutdown;
      shutdown.addEventListener('abort', onShutdown, { once: true });
    }
    if (request && isWatchedRequest(request)) {
      request[kWatchClient](this); // may call clientLeft at once
    } else if (request && !bodyCancelledOnLeave) {
      // Where the runtime cancels the body when the client leaves, that is enough (see Outbox).
      const clientSignal = request.signal;
      const onClientAbort = () => this.clientLeft(clientSignal.reason);
      const extra = Session.#more(this);
      extra.clientSignal = clientSignal;
      extra.onClientAbort = onClientAbort;
      clientSignal.addEventListener('abort', onClientAbort, { once: true });
      if (clientSignal.aborted) onClientAbort();
    }
    if (!this.aborted && shutdown?.aborted) Session.#shutDown(this);
  }

  /** The request answered (none for a relay without one, or once released). */
  get request(): Request | undefined {
    const request = this.#request;
    return typeof request === 'object' && request instanceof Request ? request : undefined;
  }

  /**
   * Lets the request go, for a session that runs no producer (nothing can ask for
   * `stream.request`): an idle connection then holds neither it nor its headers. `name` is what
   * messages call the stream from then on, one string its feeder shares between its sessions
   * (a string built per connection, `GET <url>`, cost ~60 bytes on each idle one on Bun).
   * ssekit's Node adapter names its requests itself, with no string until a message needs one.
   */
  releaseRequest(name: string): void {
    const request = this.request;
    if (!request) return;
    this.#request = isWatchedRequest(request) ? request[kRequestName]() : name;
  }

  /** Aborts when the stream is over; made at the first call. */
  get signal(): AbortSignal {
    const extra = Session.#more(this);
    if (!extra.abort) {
      extra.abort = new AbortController();
      // Set by #abortWith, which aborts a controller made before it (as during finish()).
      if (extra.abortReason !== undefined) extra.abort.abort(extra.abortReason);
    }
    return extra.abort.signal;
  }

  /** True once the stream takes no more events. */
  get aborted(): boolean {
    return this.#phase !== PRODUCING;
  }

  /** Bytes queued and not yet handed to the consumer. */
  get bufferedBytes(): number {
    return this.#outbox.bufferedBytes;
  }

  /** The body as a Web stream, made at the first call. Not once a sink is attached. */
  get readable(): ReadableStream<Uint8Array> {
    return this.#outbox.readable;
  }

  /** Starts the producer; the returned promise settles when it does and never rejects. */
  async run(
    producer: EventStreamProducer,
    lastEventId: string,
    checks?: WriterChecks,
  ): Promise<void> {
    if (this.aborted) return;
    const report = (error: unknown) => this.report(error);
    try {
      const writer = createStreamObject(this, lastEventId);
      const go = () =>
        runProducer(producer, checks ? checkedWriter(writer, checks) : writer, report);
      const observer = this.#extra?.observer;
      const within = observer?.within;
      let value = await (within ? within.call(observer, go) : go());
      if (checks) value = await checks.result(value);
      this.finish({ kind: 'done', value });
    } catch (error) {
      if (!this.aborted) this.finish({ kind: 'error', error });
      else if (!isCancellation(error, this.signal)) this.report(error);
    }
  }

  /** Queues an event for the producer: resolves when there is room, rejects once it is over. */
  write(text: string, key?: string): Promise<void> {
    if (this.aborted) return rejected(this.#extra?.abortReason);
    if (this.options.heartbeatMs !== 0) this.#lastTraffic = now();
    // A comment (`:`) is not an event.
    const observer = this.#extra?.observer;
    if (observer !== undefined && text.charCodeAt(0) !== 58) observer.event();
    const wait = this.#outbox.push(text, key);
    if (this.aborted) return rejected(this.#extra?.abortReason); // that push overflowed: the client is gone
    if (wait === undefined) return RESOLVED;
    wait.then(undefined, ignoreUnawaited);
    return wait;
  }

  /**
   * Queues an encoded event (bytes that may be shared between sessions), without a promise: true
   * while there is room, false when the queue is above `highWaterMark` or the stream is over.
   * `time` is `now()`, which a caller delivering to many sessions reads once.
   */
  deliver(bytes: Uint8Array, key?: string, time: number = now()): boolean {
    if (this.aborted) return false;
    this.#lastTraffic = time;
    this.#extra?.observer?.event();
    return this.#outbox.pushBytes(bytes, key);
  }

  /** Resolves once the queue is within `highWaterMark` (at once if it is); rejects on failure. */
  waitForRoom(): Promise<void> {
    return this.#outbox.waitForRoom();
  }

  /** Hands the stream to a sink (see Outbox). Its heartbeat stays where it is. */
  attach(sink: ByteSink): void {
    this.#outbox.attach(sink);
  }

  /** The sink has room again (Node's `drain`). */
  drained(): void {
    this.#outbox.drained();
  }

  /** When the next heartbeat is due if the stream stays silent. */
  heartbeatDue(): number {
    return this.#lastTraffic + this.options.heartbeatMs;
  }

  /** Sends a heartbeat (the shared clock says it is due); returns when the next one is. */
  beat(time: number): number {
    this.#lastTraffic = time;
    // A heartbeat behind queued data would prove nothing and only add to the queue.
    if (this.#outbox.bufferedBytes === 0) this.#outbox.push(HEARTBEAT);
    return time + this.options.heartbeatMs;
  }

  /**
   * The client left (the Node adapter's requests call this instead of aborting a signal): the
   * body closes quietly, since nobody is there to read an error.
   */
  clientLeft(reason: unknown): void {
    this.terminate(reason ?? clientGone(), true);
  }

  /** Ends the producing phase: the terminal event (if any) goes out after what is queued. */
  finish(outcome: Outcome): void {
    if (this.#phase !== PRODUCING) return;
    this.#phase = FLUSHING;
    Session.#stopTimers(this);
    if (outcome.kind === 'error') this.report(outcome.error);
    const text = terminalText(outcome, this.options, (error) => this.report(error));
    const observer = this.#extra?.observer;
    if (observer !== undefined) {
      Session.#ending(
        this,
        OUTCOME_REASONS[outcome.kind],
        outcome.kind === 'error' ? outcome.error : undefined,
      );
      if (text !== undefined && outcome.kind !== 'deadline') observer.event(); // done or error
    }
    if (text !== undefined) this.#outbox.push(text, undefined, true);
    const where = Session.#describe(this);
    Session.#abortWith(
      this,
      outcome.kind === 'deadline'
        ? new DOMException(`The event stream of ${where} reached its deadline.`, 'TimeoutError')
        : new DOMException(`The event stream of ${where} ended.`, 'AbortError'),
    );
    this.#outbox.end();
  }

  /**
   * Ends the stream from the consumer's side at once: it left (`gone`: the body closes quietly),
   * or it is dropped (the body errors, so that the client sees a cut and resumes).
   */
  terminate(reason: unknown, gone = false): void {
    const phase = this.#phase;
    if (phase === FINISHED) return;
    // Over what finish() said: the end did not go out (or not all of it).
    if (this.#extra?.observer !== undefined) {
      Session.#more(this).endReason = undefined;
      Session.#ending(this, gone ? 'client-left' : 'slow-consumer', gone ? undefined : reason);
    }
    Session.#cleanup(this);
    if (gone) this.#outbox.clientGone(reason);
    else this.#outbox.fail(reason);
    if (phase === PRODUCING) Session.#abortWith(this, reason);
  }

  /** Hands an error to `onError`, which must not throw into the stream. */
  report(error: unknown): void {
    try {
      this.options.onError(error);
    } catch (hookError) {
      console.error('ssekit: onError threw', hookError, 'while reporting', error);
    }
  }

  /** OutboxOwner: the consumer cancelled the body. */
  cancelled(reason: unknown): void {
    this.terminate(reason ?? clientGone(), true);
  }

  /** OutboxOwner: the consumer read nothing for `writeTimeoutMs`. */
  stalled(): void {
    const waiting = this.bufferedBytes + this.#outbox.unsentBytes;
    Session.#dropSlowConsumer(
      this,
      `it read nothing for writeTimeoutMs (${this.options.writeTimeoutMs} ms) with ${waiting} bytes waiting`,
    );
  }

  /** OutboxOwner: more than `maxBufferedBytes` are queued (or held unsent by the socket). */
  overflowed(): void {
    const unsent = this.#outbox.unsentBytes;
    const held = unsent > 0 ? ` and ${unsent} unsent in the socket` : '';
    Session.#dropSlowConsumer(
      this,
      `${this.bufferedBytes} bytes queued${held}, more than maxBufferedBytes (${this.options.maxBufferedBytes})`,
    );
  }

  /** OutboxOwner: everything went out after the end, and the body is closed. */
  closed(): void {
    Session.#cleanup(this);
  }

  /** OutboxOwner: bytes were handed to the consumer. */
  sent(bytes: number): void {
    this.#extra?.observer?.sent(bytes);
  }

  // The server's signal aborted (a shutdown): ends like the deadline, observed as cancelled.
  static #shutDown(session: Session): void {
    Session.#ending(session, 'cancelled', undefined);
    session.finish({ kind: 'deadline' });
  }

  /** Keeps the first reason the stream ends for (only when observed). */
  static #ending(session: Session, reason: StreamEndReason, error: unknown): void {
    if (session.#extra?.observer === undefined) return;
    const extra = Session.#more(session);
    if (extra.endReason !== undefined) return;
    extra.endReason = reason;
    extra.endError = error;
  }

  static #more(session: Session): Extra {
    session.#extra ??= {
      abort: undefined,
      abortReason: undefined,
      deadline: undefined,
      heartbeat: undefined,
      clientSignal: undefined,
      onClientAbort: undefined,
      onShutdown: undefined,
      endReason: undefined,
      endError: undefined,
      observer: undefined,
    };
    return session.#extra;
  }

  static #dropSlowConsumer(session: Session, why: string): void {
    const error = new StreamError(
      'slow-consumer',
      `Dropped the client of ${Session.#describe(session)}: ${why}.`,
    );
    session.report(error);
    session.terminate(error);
  }

  static #describe(session: Session): string {
    const request = session.#request;
    if (request === undefined) return 'a relayed stream';
    if (typeof request === 'string') return request;
    if (request instanceof Request) return `${request.method} ${request.url}`;
    return request.describe();
  }

  // Once, when the producing phase ends (finish, or terminate while producing).
  static #abortWith(session: Session, reason: unknown): void {
    const extra = Session.#more(session);
    extra.abortReason = reason;
    extra.abort?.abort(reason);
    session.owner?.sessionEnded(session);
  }

  static #cleanup(session: Session): void {
    session.#phase = FINISHED;
    Session.#stopTimers(session);
    const extra = session.#extra;
    if (!extra) return;
    if (extra.onClientAbort) extra.clientSignal?.removeEventListener('abort', extra.onClientAbort);
    if (extra.onShutdown) session.options.signal?.removeEventListener('abort', extra.onShutdown);
    const observer = extra.observer;
    if (observer === undefined) return;
    extra.observer = undefined;
    observer.end(extra.endReason ?? 'completed', extra.endError);
  }

  static #stopTimers(session: Session): void {
    removeHeartbeat(session);
    const extra = session.#extra;
    if (!extra) return;
    if (extra.heartbeat !== undefined) clearTimeout(extra.heartbeat);
    if (extra.deadline !== undefined) clearTimeout(extra.deadline);
    extra.heartbeat = extra.deadline = undefined;
  }

  // One timer, re-armed for the remaining silence when it fires early, rather than a
  // clearTimeout/setTimeout pair per event: a stream of thousands of events costs nothing extra.
  // (Where one timer may serve every request, the shared clock does the same for every stream.)
  static #beat(session: Session): void {
    const time = now();
    const due = session.heartbeatDue();
    const extra = Session.#more(session);
    if (due > time) {
      extra.heartbeat = setTimer(Session.#beat, due - time, session);
      return;
    }
    // Armed first: the beat may end the stream, which cancels this timer.
    extra.heartbeat = setTimer(Session.#beat, session.options.heartbeatMs, session);
    session.beat(time);
  }

  static #deadlineReached(session: Session): void {
    Session.#more(session).deadline = undefined;
    session.finish({ kind: 'deadline' });
  }
}

const OUTCOME_REASONS = {
  done: 'completed',
  error: 'error',
  deadline: 'deadline',
} as const satisfies Record<Outcome['kind'], StreamEndReason>;

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
