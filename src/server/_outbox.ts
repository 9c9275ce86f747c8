/**
 * The outbox: the only buffer between a producer and the consumer of an event stream, counted in
 * bytes. The consumer is either a `ReadableStream` with a high-water mark of 0 (the stream itself
 * never holds more than the one chunk a pending read asked for), or a {@link ByteSink} that writes
 * to a socket (ssekit's Node adapter), which takes chunks until it says it is full and asks again
 * at `drain`. Everything else waits here, where it can be measured, coalesced and bounded.
 *
 * What happens to the queue is told to one {@link OutboxOwner} (the session), an object rather
 * than callbacks: no closure per connection. A class, where the package otherwise prefers
 * closures: one outbox lives per connection, and prototype methods cost an idle connection
 * nothing, where a factory's closures cost it about a kilobyte (the fan-out benchmark holds
 * thousands of connections). For the same reason, what only some streams need (coalescing keys,
 * waiting producers) lives in an object made on demand, and the outbox is itself the source of
 * its Web stream (`start`, `pull` and `cancel` below), not one more object per connection.
 */
import { concatBytes } from '../_internal/bytes.ts';
import type { ByteSink } from '../_internal/direct-lane.ts';
import { setTimer, type Timer } from '../_internal/timers.ts';

/** The bounds of an outbox. */
export interface OutboxLimits {
  /** Above this many queued bytes, `push` returns a promise that resolves at the next flush. */
  highWaterMark: number;
  /**
   * Past this many bytes queued or held unsent by the sink (with more than one event queued), the
   * owner hears `overflowed()`.
   */
  maxBufferedBytes: number;
  /**
   * Data waiting this long without the consumer taking any (queued, or held unsent by a sink that
   * stopped taking chunks): the owner hears `stalled()`.
   */
  writeTimeoutMs: number;
}

/** Whom an outbox answers to: it states the limits and hears what happens to the queue. */
export interface OutboxOwner {
  readonly options: OutboxLimits;
  /** The consumer went away (it cancelled the body). The outbox is closed already. */
  cancelled(reason: unknown): void;
  /** Data waited `writeTimeoutMs` without the consumer taking any. */
  stalled(): void;
  /** More than `maxBufferedBytes` are queued. */
  overflowed(): void;
  /** Everything was handed to the consumer after `end()`, and the body is closed. */
  closed(): void;
  /** Bytes were handed to the consumer (for the stream's observer). */
  sent(bytes: number): void;
}

interface Waiter {
  resolve(): void;
  reject(reason: unknown): void;
}

/** What only some outboxes need. */
interface Extra {
  /** Coalescing key -> index in the queue. */
  keys: Map<string, number> | undefined;
  /** Pushes that wait for room. */
  waiters: Waiter[] | undefined;
  /** What the outbox failed with (for a `readable` made afterwards). */
  failure: unknown;
}

const OPEN = 0;
const ENDING = 1;
const CLOSED = 2;
const FAILED = 3;
/** Cut off because the consumer left: like FAILED, but a Web body closes rather than errors. */
const GONE = 4;

const encoder = new TextEncoder();

/** A bounded byte queue in front of a `ReadableStream` or a {@link ByteSink}. */
export class Outbox {
  readonly #owner: OutboxOwner;
  /** Queued chunks in order; `undefined` where a coalesced chunk was replaced by a newer one. */
  #queue: Array<Uint8Array | undefined> | undefined;
  #buffered = 0;
  #state: typeof OPEN | typeof ENDING | typeof CLOSED | typeof FAILED | typeof GONE = OPEN;
  /** The consumer asked for data and has none: the next push goes out at once. */
  #wanting = false;
  /**
   * Who takes the chunks: a sink, or the Web body's controller once its stream is made. One field
   * for either (a field less keeps an idle connection smaller: 80 bytes instead of 112 on Bun).
   */
  #consumer: Consumer | undefined;
  #extra: Extra | undefined;
  #stall: Timer | undefined;

  constructor(owner: OutboxOwner) {
    this.#owner = owner;
  }

  /** Bytes queued and not yet handed to the consumer. */
  get bufferedBytes(): number {
    return this.#buffered;
  }

  /** Bytes handed to a sink that it has not sent yet (0 for a Web body). */
  get unsentBytes(): number {
    const consumer = this.#consumer;
    return isSink(consumer) ? consumer.pendingBytes : 0;
  }

  /** The body as a Web stream, made once. Not once a sink is attached. */
  get readable(): ReadableStream<Uint8Array> {
    if (isSink(this.#consumer)) throw new TypeError('The event stream is written to a sink.');
    if (this.#consumer) throw new TypeError('The event stream has a Web body already.');
    // Its source is the outbox (start runs now); a high-water mark of 0: the stream holds nothing
    // a read did not ask for.
    return new ReadableStream<Uint8Array>(this, { highWaterMark: 0 });
  }

  /**
   * Queues one encoded event. With a `key`, a queued event with the same key is replaced (it moves
   * to the end: the latest value wins). Returns `undefined` while there is room, else a promise that
   * resolves at the next flush and rejects if the outbox fails first. `force` skips the overflow
   * check, for the small terminal events that must get through.
   */
  push(text: string, key?: string, force = false): Promise<void> | undefined {
    if (this.#state !== OPEN) return undefined;
    if (!Outbox.#add(this, encoder.encode(text), key, force)) return undefined;
    if (this.#buffered <= this.#owner.options.highWaterMark) return undefined;
    return Outbox.#wait(this);
  }

  /**
   * Queues encoded bytes, which may be shared with other outboxes (nothing writes to them).
   * Returns true while the queue is within `highWaterMark`; false when it is above (the caller
   * should wait for {@link Outbox.waitForRoom}) or the outbox is no longer open.
   */
  pushBytes(bytes: Uint8Array, key?: string): boolean {
    if (this.#state !== OPEN) return false;
    if (this.#wanting && key === undefined && this.#buffered === 0) {
      Outbox.#hand(this, bytes); // the common case of a consumer that keeps up: straight through
      return true;
    }
    return (
      Outbox.#add(this, bytes, key, false) && this.#buffered <= this.#owner.options.highWaterMark
    );
  }

  /** Resolves once the queue is within `highWaterMark` (at once if it is); rejects on failure. */
  waitForRoom(): Promise<void> {
    if (this.#state >= FAILED) return Promise.reject(this.#extra?.failure);
    if (this.#buffered <= this.#owner.options.highWaterMark || this.#state !== OPEN) {
      return Promise.resolve();
    }
    return Outbox.#wait(this);
  }

  /** Closes the body once everything queued has been handed over. */
  end(): void {
    if (this.#state !== OPEN) return;
    this.#state = ENDING;
    if (this.#buffered > 0 || this.#queue?.length) return; // the next pull or drain flushes, then closes
    Outbox.#close(this);
  }

  /** Drops everything queued and errors the body (the consumer is cut off). */
  fail(reason: unknown): void {
    Outbox.#cut(this, reason, FAILED);
  }

  /**
   * The consumer is gone (the client left): drops everything queued and rejects the waiting
   * pushes with `reason`, as `fail` does, but closes a Web body instead of erroring it. Nobody is
   * there to read an error, and a runtime would only log it (Deno prints every errored response
   * body). A sink is cut all the same.
   */
  clientGone(reason: unknown): void {
    Outbox.#cut(this, reason, GONE);
  }

  /**
   * Hands the stream to a sink instead of its `readable`, which nobody read (if it was made, it
   * now reads as empty): what is queued goes out now, the rest as it comes while the sink has room.
   */
  attach(sink: ByteSink): void {
    const controller = this.#consumer;
    if (isSink(controller)) throw new TypeError('The event stream has a sink already.');
    this.#consumer = sink;
    if (this.#state >= FAILED) sink.fail(this.#extra?.failure);
    else if (this.#state === CLOSED) sink.end();
    else {
      controller?.close();
      this.drained();
    }
  }

  /** The sink has room again (Node's `drain`). */
  drained(): void {
    if (this.#state >= CLOSED || !isSink(this.#consumer)) return;
    Outbox.#stopStall(this);
    this.#wanting = true;
    if (this.#queue?.length) Outbox.#flush(this);
    else if (this.#state === ENDING) Outbox.#close(this);
  }

  static #cut(outbox: Outbox, reason: unknown, state: typeof FAILED | typeof GONE): void {
    if (outbox.#state >= CLOSED) return;
    outbox.#state = state;
    (outbox.#extra ??= newExtra()).failure = reason;
    Outbox.#release(outbox, reason);
    const consumer = outbox.#consumer;
    if (isSink(consumer)) {
      consumer.fail(reason);
      return;
    }
    if (state === FAILED) consumer?.error(reason);
    else consumer?.close();
  }

  static #add(outbox: Outbox, bytes: Uint8Array, key: string | undefined, force: boolean): boolean {
    const queue = (outbox.#queue ??= []);
    if (key !== undefined) {
      const keys = ((outbox.#extra ??= newExtra()).keys ??= new Map());
      const previous = keys.get(key);
      if (previous !== undefined) {
        outbox.#buffered -= queue[previous]!.byteLength;
        queue[previous] = undefined;
      }
      keys.set(key, queue.length);
    }
    queue.push(bytes);
    outbox.#buffered += bytes.byteLength;
    if (outbox.#wanting) {
      Outbox.#flush(outbox);
      return true;
    }
    outbox.#stall ??= setTimer(Outbox.#stalled, outbox.#owner.options.writeTimeoutMs, outbox);
    // What a sink took and has not sent counts too: a frozen client holds no more than the cap
    // plus one event in all. An event alone in the queue is let through (one larger than the cap
    // must not drop a client whose socket holds a few bytes).
    const consumer = outbox.#consumer;
    const held = outbox.#buffered + (isSink(consumer) ? consumer.pendingBytes : 0);
    if (
      !force &&
      held > outbox.#owner.options.maxBufferedBytes &&
      outbox.#buffered > bytes.length
    ) {
      outbox.#owner.overflowed();
      return false;
    }
    return true;
  }

  static #wait(outbox: Outbox): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      ((outbox.#extra ??= newExtra()).waiters ??= []).push({ resolve, reject });
    });
  }

  /**
   * @internal The Web body's start (the outbox is its source): a body made after the end reads
   * as that end.
   */
  start(controller: ReadableStreamDefaultController<Uint8Array>): void {
    this.#consumer = controller;
    if (this.#state === FAILED) controller.error(this.#extra?.failure);
    else if (this.#state >= CLOSED) controller.close();
  }

  // The Web body asks for data. Nothing to wait on: when there is none, the next push goes out at
  // once (a pending read takes it). A promise here would sit on every idle connection, with the
  // reactions the stream attaches to it.
  /** @internal The Web body's pull. */
  pull(): void {
    if (isSink(this.#consumer)) return;
    Outbox.#stopStall(this);
    if (this.#queue?.length) Outbox.#flush(this);
    else if (this.#state === ENDING) Outbox.#close(this);
    else this.#wanting = true;
  }

  /** @internal The Web body's cancel: the consumer went away. */
  cancel(reason: unknown): void {
    if (this.#state >= CLOSED || isSink(this.#consumer)) return;
    this.#state = CLOSED;
    Outbox.#release(this, reason);
    this.#owner.cancelled(reason);
  }

  // Hands everything queued to the consumer as one chunk: one write (one syscall) however many
  // events piled up while the consumer was busy.
  static #flush(outbox: Outbox): undefined {
    const queue = outbox.#queue!;
    const chunk = queue.length === 1 ? queue[0]! : concatBytes(queue, outbox.#buffered);
    Outbox.#release(outbox, undefined);
    Outbox.#hand(outbox, chunk);
    if (outbox.#state === ENDING) Outbox.#close(outbox);
    return undefined;
  }

  static #hand(outbox: Outbox, chunk: Uint8Array): void {
    outbox.#owner.sent(chunk.byteLength);
    const consumer = outbox.#consumer;
    if (isSink(consumer)) {
      outbox.#wanting = consumer.write(chunk);
      // The socket holds bytes it cannot send: the client has writeTimeoutMs to take them, even
      // if nothing more is queued meanwhile (a quiet topic, a producer that awaits).
      if (!outbox.#wanting) {
        outbox.#stall ??= setTimer(Outbox.#stalled, outbox.#owner.options.writeTimeoutMs, outbox);
      }
      return;
    }
    outbox.#wanting = false;
    consumer?.enqueue(chunk);
  }

  static #close(outbox: Outbox): undefined {
    outbox.#state = CLOSED;
    outbox.#wanting = false;
    const consumer = outbox.#consumer;
    if (isSink(consumer)) consumer.end();
    else consumer?.close();
    outbox.#owner.closed();
    return undefined;
  }

  /** Empties the queue and settles the waiting pushes: resolved, or rejected with `reason`. */
  static #release(outbox: Outbox, reason: unknown): void {
    Outbox.#stopStall(outbox);
    if (outbox.#queue?.length) outbox.#queue.length = 0;
    outbox.#buffered = 0;
    const extra = outbox.#extra;
    if (extra === undefined) return;
    if (extra.keys?.size) extra.keys.clear();
    const waiters = extra.waiters;
    if (waiters === undefined) return;
    extra.waiters = undefined;
    for (const waiter of waiters) {
      if (reason === undefined) waiter.resolve();
      else waiter.reject(reason);
    }
  }

  static #stopStall(outbox: Outbox): void {
    if (outbox.#stall === undefined) return;
    clearTimeout(outbox.#stall);
    outbox.#stall = undefined;
  }

  static #stalled(outbox: Outbox): void {
    outbox.#stall = undefined;
    outbox.#owner.stalled();
  }
}

/** What takes an outbox's chunks: a sink, or a Web body's controller. */
type Consumer = ByteSink | ReadableStreamDefaultController<Uint8Array>;

/** A sink rather than a controller (which has no `pendingBytes`). */
function isSink(consumer: Consumer | undefined): consumer is ByteSink {
  return consumer !== undefined && 'pendingBytes' in consumer;
}

function newExtra(): Extra {
  return { keys: undefined, waiters: undefined, failure: undefined };
}
