/**
 * Reads of a log shared by the subscriptions that ask the same question at about the same time:
 * a reconnect storm (every client of a topic coming back at once after a deploy, most with the
 * same `Last-Event-ID`) asks the engine a few times, not three times per client (the log's bounds
 * to place the cursor, a replay from it, the bounds again to check nothing was trimmed).
 *
 * One read per question is in flight; the questions asked while it is share the next read, made
 * once it returns. Never the read already in flight: it may have been answered before they asked
 * (a replay that read the log before the entries their tail has not delivered them yet), and a
 * later answer is one each of them could have had alone. A read that hangs (a query on a dead
 * connection) holds the next one back for {@link PATIENCE_MS} at most: then it is made anyway,
 * beside the hung one. Answers are shared: never mutated.
 * @internal
 */
import { now, setTimer, type Timer } from '../_internal/timers.ts';
import type { HubEngine, LogEntry } from './engine.ts';

/** The reads a catch-up makes. */
export type LogReader = Pick<HubEngine, 'bounds' | 'range'>;

/** How long a read in flight holds back the next one for the same question. */
export const PATIENCE_MS = 1000;

type Bounds = Awaited<ReturnType<HubEngine['bounds']>>;

/** The askers of the next read. */
interface Next<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

/** One question's reads: the latest one made, and the next one with its askers. */
interface Flight<T> {
  readonly question: string;
  readonly read: () => Promise<T>;
  current: Promise<T> | undefined;
  /** When the current read was made (`now()`). */
  started: number;
  next: Next<T> | undefined;
  /** Makes the next read if the current one has not returned by then. */
  timer: Timer | undefined;
}

export class SharedReads implements LogReader {
  readonly #engine: LogReader;
  readonly #patienceMs: number;
  readonly #flights = new Map<string, Flight<unknown>>();

  constructor(engine: LogReader, patienceMs: number = PATIENCE_MS) {
    this.#engine = engine;
    this.#patienceMs = patienceMs;
  }

  bounds(key: string): Promise<Bounds> {
    return this.#ask(`b${key.length}:${key}`, () => this.#engine.bounds(key));
  }

  range(key: string, after: string | undefined, count: number): Promise<LogEntry[]> {
    const from = after === undefined ? '' : `>${after}`;
    return this.#ask(`r${count}:${key.length}:${key}${from}`, () =>
      this.#engine.range(key, after, count),
    );
  }

  #ask<T>(question: string, read: () => Promise<T>): Promise<T> {
    const flight = this.#flights.get(question) as Flight<T> | undefined;
    if (flight === undefined) {
      const started: Flight<T> = {
        question,
        read,
        current: undefined,
        started: 0,
        next: undefined,
        timer: undefined,
      };
      this.#flights.set(question, started as Flight<unknown>);
      return this.#fly(started);
    }
    if (flight.next === undefined) {
      let resolve!: (value: T) => void;
      let reject!: (error: unknown) => void;
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      flight.next = { promise, resolve, reject };
      const wait = Math.max(0, flight.started + this.#patienceMs - now());
      flight.timer = setTimer(this.#launch, wait, flight as Flight<unknown>);
    }
    return flight.next.promise;
  }

  // Makes the question's read; when it returns (if it is still the latest), the next one.
  #fly<T>(flight: Flight<T>): Promise<T> {
    let reading: Promise<T>;
    try {
      reading = flight.read();
    } catch (error) {
      reading = Promise.reject(error);
    }
    flight.current = reading;
    flight.started = now();
    const landed = () => {
      if (flight.current !== reading) return; // a later read was made beside this hung one
      if (flight.next === undefined) this.#flights.delete(flight.question);
      else this.#launch(flight as Flight<unknown>);
    };
    reading.then(landed, landed);
    return reading;
  }

  /** Makes the next read for its askers. */
  readonly #launch = (flight: Flight<unknown>): void => {
    const next = flight.next;
    if (next === undefined) return;
    clearTimeout(flight.timer);
    flight.next = undefined;
    flight.timer = undefined;
    this.#fly(flight).then(next.resolve, next.reject);
  };
}
