/**
 * The outbox: the only buffer between a producer and the consumer of a `Response` body, counted in
 * bytes. The `ReadableStream` it feeds has a high-water mark of 0, so the stream itself never holds
 * more than the one chunk a pending read asked for; everything else waits here, where it can be
 * measured, coalesced and bounded.
 */
import { startTimer } from './_timers.ts';

/** Settings and callbacks of {@link createOutbox}. */
export interface OutboxOptions {
  /** Above this many queued bytes, `push` returns a promise that resolves at the next flush. */
  highWaterMark: number;
  /** Past this many queued bytes (with more than one event queued), `onOverflow` fires. */
  maxBufferedBytes: number;
  /** Data waiting this long without a read from the consumer fires `onStall`. */
  writeTimeoutMs: number;
  /** The consumer cancelled the body (it went away). The outbox is closed already. */
  onCancel(reason: unknown): void;
  onStall(): void;
  onOverflow(): void;
  /** Everything was handed to the consumer after `end()`, and the body is closed. */
  onClosed(): void;
}

/** A bounded byte queue in front of a `ReadableStream`, see {@link createOutbox}. */
export interface Outbox {
  readonly readable: ReadableStream<Uint8Array>;
  /** Bytes queued and not yet handed to the consumer. */
  readonly bufferedBytes: number;
  /**
   * Queues one encoded event. With a `key`, a queued event with the same key is replaced (it moves
   * to the end: the latest value wins). Returns `undefined` while there is room, else a promise that
   * resolves at the next flush and rejects if the outbox fails first. `force` skips the overflow
   * check, for the small terminal events that must get through.
   */
  push(text: string, key?: string, force?: boolean): Promise<void> | undefined;
  /** Closes the body once everything queued has been handed over. */
  end(): void;
  /** Drops everything queued and errors the body (the consumer is cut off). */
  fail(reason: unknown): void;
}

interface Item {
  bytes: Uint8Array;
  key: string | undefined;
  live: boolean;
}

interface Waiter {
  resolve(): void;
  reject(reason: unknown): void;
}

/**
 * Creates an outbox; see {@link Outbox}. Like the parser, one closure over the queue's state,
 * split into short inner functions (flush, release, close) rather than a class.
 */
export function createOutbox(options: OutboxOptions): Outbox {
  const encoder = new TextEncoder();
  let items: Item[] = [];
  const byKey = new Map<string, Item>();
  let buffered = 0;
  let state: 'open' | 'ending' | 'closed' = 'open';
  let controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  let wakeReader: (() => void) | undefined; // resolves the pull that is waiting for data
  let waiters: Waiter[] = [];
  let cancelStall: (() => void) | undefined;

  const stopStall = () => {
    cancelStall?.();
    cancelStall = undefined;
  };

  const release = (reason?: unknown) => {
    stopStall();
    items = [];
    byKey.clear();
    buffered = 0;
    const pending = waiters;
    waiters = [];
    for (const waiter of pending) {
      if (reason === undefined) waiter.resolve();
      else waiter.reject(reason);
    }
  };

  const close = () => {
    state = 'closed';
    controller?.close();
    options.onClosed();
  };

  // Hands everything queued to the consumer as one chunk: one write (one syscall) however many
  // events piled up while the consumer was busy.
  const flush = () => {
    const live = items.filter((item) => item.live);
    const chunk = live.length === 1 ? live[0]!.bytes : concat(live, buffered);
    release();
    controller?.enqueue(chunk);
    if (state === 'ending') close();
  };

  const readable = new ReadableStream<Uint8Array>(
    {
      start(streamController) {
        controller = streamController;
      },
      pull() {
        stopStall();
        if (items.length > 0) return flush();
        if (state === 'ending') return close();
        return new Promise<void>((resolve) => {
          wakeReader = resolve;
        });
      },
      cancel(reason) {
        if (state === 'closed') return;
        state = 'closed';
        release(reason);
        options.onCancel(reason);
      },
    },
    { highWaterMark: 0 },
  );

  const enqueue = (text: string, key: string | undefined) => {
    const bytes = encoder.encode(text);
    if (key !== undefined) {
      const previous = byKey.get(key);
      if (previous) {
        previous.live = false;
        buffered -= previous.bytes.byteLength;
      }
    }
    const item: Item = { bytes, key, live: true };
    items.push(item);
    if (key !== undefined) byKey.set(key, item);
    buffered += bytes.byteLength;
    return bytes.byteLength;
  };

  return {
    readable,
    get bufferedBytes() {
      return buffered;
    },
    push(text, key, force = false) {
      if (state !== 'open') return undefined;
      const size = enqueue(text, key);
      const wake = wakeReader;
      if (wake) {
        wakeReader = undefined;
        flush();
        wake();
        return undefined;
      }
      cancelStall ??= startTimer(options.onStall, options.writeTimeoutMs);
      // One event larger than the cap on its own is let through: the bound is the cap plus one event.
      if (!force && buffered > options.maxBufferedBytes && buffered > size) {
        options.onOverflow();
        return undefined;
      }
      if (buffered <= options.highWaterMark) return undefined;
      return new Promise<void>((resolve, reject) => {
        waiters.push({ resolve, reject });
      });
    },
    end() {
      if (state !== 'open') return;
      state = 'ending';
      if (items.length > 0) return; // the next pull flushes, then closes
      const wake = wakeReader;
      wakeReader = undefined;
      close();
      wake?.();
    },
    fail(reason) {
      if (state === 'closed') return;
      state = 'closed';
      release(reason);
      controller?.error(reason);
      const wake = wakeReader;
      wakeReader = undefined;
      wake?.();
    },
  };
}

function concat(items: Item[], size: number): Uint8Array {
  const chunk = new Uint8Array(size);
  let offset = 0;
  for (const item of items) {
    chunk.set(item.bytes, offset);
    offset += item.bytes.byteLength;
  }
  return chunk;
}
