/**
 * Reads of a log shared by the subscriptions that ask the same question at about the same time:
 * a reconnect storm (every client of a topic coming back at once after a deploy, most with the
 * same `Last-Event-ID`) asks the engine a few times, not three times per client (the log's bounds
 * to place the cursor, a replay from it, the bounds again to check nothing was trimmed).
 *
 * One read per question is in flight; the questions asked while it is share the next read, made
 * once it returns. Never the read already in flight: it may have been answered before they asked
 * (a replay that read the log before the entries their tail has not delivered them yet), and a
 * later answer is one each of them could have had alone. Answers are shared: never mutated.
 * @internal
 */
import type { HubEngine, LogEntry } from './engine.ts';

/** The reads a catch-up makes. */
export type LogReader = Pick<HubEngine, 'bounds' | 'range'>;

type Bounds = Awaited<ReturnType<HubEngine['bounds']>>;

/** One question's reads: the one in flight, and the one the questions asked meanwhile wait for. */
interface Flight<T> {
  next: { promise: Promise<T>; resolve(value: T): void; reject(error: unknown): void } | undefined;
}

export class SharedReads implements LogReader {
  readonly #engine: LogReader;
  readonly #flights = new Map<string, Flight<unknown>>();

  constructor(engine: LogReader) {
    this.#engine = engine;
  }

  bounds(key: string): Promise<Bounds> {
    return this.#read(`b${key.length}:${key}`, () => this.#engine.bounds(key));
  }

  range(key: string, after: string | undefined, count: number): Promise<LogEntry[]> {
    const from = after === undefined ? '' : `>${after}`;
    return this.#read(`r${count}:${key.length}:${key}${from}`, () =>
      this.#engine.range(key, after, count),
    );
  }

  #read<T>(question: string, read: () => Promise<T>): Promise<T> {
    const flight = this.#flights.get(question) as Flight<T> | undefined;
    if (flight !== undefined) {
      if (flight.next === undefined) {
        let resolve!: (value: T) => void;
        let reject!: (error: unknown) => void;
        const promise = new Promise<T>((res, rej) => {
          resolve = res;
          reject = rej;
        });
        flight.next = { promise, resolve, reject };
      }
      return flight.next.promise;
    }
    const started: Flight<T> = { next: undefined };
    this.#flights.set(question, started as Flight<unknown>);
    return this.#fly(question, started, read);
  }

  // Makes the read; when it returns, the next one, for the questions asked meanwhile (if any).
  #fly<T>(question: string, flight: Flight<T>, read: () => Promise<T>): Promise<T> {
    let reading: Promise<T>;
    try {
      reading = read();
    } catch (error) {
      reading = Promise.reject(error);
    }
    const landed = () => {
      const next = flight.next;
      if (next === undefined) {
        this.#flights.delete(question);
        return;
      }
      flight.next = undefined;
      this.#fly(question, flight, read).then(next.resolve, next.reject);
    };
    reading.then(landed, landed);
    return reading;
  }
}
