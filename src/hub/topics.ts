/**
 * Topic subscriptions, fanned out from one engine tail per topic and hub (not one per
 * subscriber): each entry is encoded once, and its bytes go to every live subscriber's session
 * synchronously, with no promise and no parsing per subscriber. A subscriber that is not live (it
 * is joining, or it fell behind: its queue went past `highWaterMark`) catches up from the log
 * instead, at its client's pace, then goes live again with no gap and no duplicate at the seam.
 *
 * Classes rather than closures: there is one subscriber per connection, thousands per process.
 */

import type { FanOutOwner, FanOutSession } from '../_internal/fan-out.ts';
import { encodeStreamEvent } from '../_internal/serialize-event.ts';
import { now } from '../_internal/timers.ts';
import { HubError } from '../errors.ts';
import { openEventStream, readLastEventId } from '../server/create-event-stream.ts';
import type { ResolvedEventStreamOptions } from '../server/options.ts';
import type { EventStreamEvent } from '../server/types.ts';
import { clientEventOf } from './_validate.ts';
import { compareIds, type HubEngine, isLogId, type LogEntry, type LogTail } from './engine.ts';
import type { TailStart } from './tail.ts';

/** Per-subscription logic of `hub.subscribe`: filter and coalesce, on the event as sent. */
export interface SubscriptionLogic {
  filter: ((event: EventStreamEvent) => boolean) | undefined;
  coalesce: ((event: EventStreamEvent) => string | undefined) | undefined;
}

/** What `history-lost` says: the id asked for, and the oldest id replayed instead (if any). */
interface Lost {
  requested: string;
  from: string | null;
}

/** Live entries a catching-up subscriber holds before it replays from the log instead. */
const MAX_PENDING = 1024;
const REPLAY_BATCH = 256;
const encoder = new TextEncoder();

/** The topics of one hub. */
export class Topics {
  readonly #engine: HubEngine;
  readonly #onError: (error: unknown) => void;
  readonly #topics = new Map<string, Topic>();

  constructor(engine: HubEngine, onError: (error: unknown) => void) {
    this.#engine = engine;
    this.#onError = onError;
  }

  /** Answers `request` with a subscription to the log `key`; see `Hub.subscribe`. */
  async subscribe(
    request: Request,
    key: string,
    options: ResolvedEventStreamOptions,
    logic: SubscriptionLogic,
  ): Promise<Response> {
    let { start, lost } = await topicStart(this.#engine, key, readLastEventId(request));
    if (start.from === 'now' && !this.#topics.get(key)?.ready) {
      // The topic's tail is not up yet: what is appended from now on is what the log holds
      // after its current end, and the subscriber replays it once the tail is up.
      const last = (await this.#engine.bounds(key))?.last;
      start = last === undefined ? { from: 'beginning' } : { from: 'after', id: last };
    }
    const { response, session } = openEventStream(request, options);
    if (!session || session.aborted) return response;
    session.releaseRequest();
    if (lost) session.deliver(encodeEvent({ event: 'history-lost', data: lost }));
    let topic = this.#topics.get(key);
    if (!topic) {
      topic = new Topic(this.#engine, key, this.#onError, () => this.#topics.delete(key));
      this.#topics.set(key, topic);
    }
    topic.add(new Subscriber(topic, session, logic), start);
    return response;
  }

  /** Stops every tail (the hub is closing). */
  close(): void {
    for (const topic of this.#topics.values()) topic.close();
    this.#topics.clear();
  }
}

/** Where a subscriber that is not live stands (made when it joins or falls behind). */
interface CatchUp {
  /** The last entry handed over (`undefined`: replay from the start of the log). */
  cursor: string | undefined;
  /** Entries the tail delivered meanwhile. */
  pending: LogEntry[];
  /** Pending entries were dropped (more than MAX_PENDING): a replay from the log gets them. */
  overflowed: boolean;
  /** The first entry dropped, to tell whether the log still has it when the replay comes. */
  missed: string | undefined;
  /**
   * Caught up: live, except that entries up to `cursor` are skipped. A tail that delivers
   * asynchronously (Redis) may still bring entries the replay has read.
   */
  seam: boolean;
}

class Subscriber implements FanOutOwner {
  readonly topic: Topic;
  readonly session: FanOutSession;
  readonly logic: SubscriptionLogic;
  /** `undefined` while live: the topic hands it every entry. */
  catchUp: CatchUp | undefined;

  constructor(topic: Topic, session: FanOutSession, logic: SubscriptionLogic) {
    this.topic = topic;
    this.session = session;
    this.logic = logic;
    session.owner = this;
  }

  sessionEnded(): void {
    this.topic.remove(this);
  }

  /** Sends one entry (the shared bytes when given); false when the session has no more room. */
  send(entry: LogEntry, bytes: Uint8Array | undefined, time: number = now()): boolean {
    const { filter, coalesce } = this.logic;
    let key: string | undefined;
    if (filter !== undefined || coalesce !== undefined) {
      const event = clientEventOf(entry, entry.id);
      if (HubError.isInstance(event)) return this.topic.skip(event);
      if (filter !== undefined && !filter(event)) return true;
      key = coalesce?.(event);
    }
    let payload = bytes;
    if (payload === undefined) {
      const encoded = encodeEntry(entry);
      if (HubError.isInstance(encoded)) return this.topic.skip(encoded);
      payload = encoded;
    }
    return this.session.deliver(payload, key, time);
  }

  /** Keeps an entry the tail delivered while catching up. */
  hold(catchUp: CatchUp, entry: LogEntry): void {
    if (catchUp.pending.length < MAX_PENDING) {
      catchUp.pending.push(entry);
      return;
    }
    catchUp.missed ??= catchUp.pending[0]!.id;
    catchUp.pending = [];
    catchUp.overflowed = true;
  }
}

class Topic {
  readonly #engine: HubEngine;
  readonly #key: string;
  readonly #onIdle: () => void;
  readonly #onError: (error: unknown) => void;
  readonly #subscribers = new Set<Subscriber>();
  readonly #tail: LogTail;
  /** The tail is up: every entry appended from now on reaches `#deliver`. */
  ready = false;

  constructor(engine: HubEngine, key: string, onError: (e: unknown) => void, onIdle: () => void) {
    this.#engine = engine;
    this.#key = key;
    this.#onIdle = onIdle;
    this.#onError = onError;
    this.#tail = engine.tail(key, (entry) => this.#deliver(entry), onError);
    this.#tail.ready.then(
      () => {
        this.ready = true;
      },
      () => {},
    );
  }

  add(subscriber: Subscriber, start: TailStart): void {
    this.#subscribers.add(subscriber);
    if (start.from === 'now') return; // live at once: the tail is up (see Topics.subscribe)
    const cursor = start.from === 'after' ? start.id : undefined;
    subscriber.catchUp = { cursor, pending: [], overflowed: false, missed: undefined, seam: false };
    void this.#join(subscriber);
  }

  remove(subscriber: Subscriber): void {
    if (!this.#subscribers.delete(subscriber) || this.#subscribers.size > 0) return;
    this.close();
    this.#onIdle();
  }

  close(): void {
    this.#tail.close();
  }

  /**
   * Reports an entry that cannot be encoded and skips it (true: the subscriber goes on): failing
   * on it would cut every subscriber, and every resume would meet it again.
   */
  skip(error: HubError): true {
    this.#onError(error);
    return true;
  }

  // Every live subscriber gets the same bytes, encoded at the first that needs them.
  #deliver(entry: LogEntry): void {
    let bytes: Uint8Array | undefined;
    let skipped = false;
    const time = now();
    for (const subscriber of this.#subscribers) {
      const catchUp = subscriber.catchUp;
      if (catchUp !== undefined) {
        if (!catchUp.seam) {
          subscriber.hold(catchUp, entry);
          continue;
        }
        const cursor = catchUp.cursor;
        if (cursor !== undefined && compareIds(entry.id, cursor) <= 0) continue;
        subscriber.catchUp = undefined; // past the seam: live
      }
      if (skipped) continue;
      try {
        if (bytes === undefined) {
          const encoded = encodeEntry(entry);
          if (HubError.isInstance(encoded)) {
            skipped = this.skip(encoded);
            continue;
          }
          bytes = encoded;
        }
        if (!subscriber.send(entry, bytes, time)) this.#fallBehind(subscriber, entry.id);
      } catch (error) {
        subscriber.session.finish({ kind: 'error', error }); // a filter threw, or the entry
      }
    }
  }

  #fallBehind(subscriber: Subscriber, cursor: string): void {
    if (subscriber.session.aborted) return;
    subscriber.catchUp = { cursor, pending: [], overflowed: false, missed: undefined, seam: false };
    void this.#catchUp(subscriber, subscriber.catchUp);
  }

  async #join(subscriber: Subscriber): Promise<void> {
    try {
      await this.#tail.ready;
    } catch (error) {
      subscriber.session.finish({ kind: 'error', error });
      return;
    }
    await this.#catchUp(subscriber, subscriber.catchUp!);
  }

  /**
   * Replays what the log holds after the cursor, then what the tail delivered meanwhile (skipping
   * what the replay covered), then goes live; all at the pace of the client. Entries dropped
   * meanwhile are replayed again from the log, or reported as `history-lost` if it no longer has
   * them (retention trimmed them while the client was behind).
   */
  async #catchUp(subscriber: Subscriber, catchUp: CatchUp): Promise<void> {
    const session = subscriber.session;
    try {
      await session.waitForRoom();
      for (;;) {
        catchUp.overflowed = false;
        await this.#replay(subscriber, catchUp);
        while (!catchUp.overflowed && !session.aborted && catchUp.pending.length > 0) {
          const pending = catchUp.pending;
          catchUp.pending = [];
          for (const entry of pending) {
            const cursor = catchUp.cursor;
            if (cursor !== undefined && compareIds(entry.id, cursor) <= 0) continue;
            catchUp.cursor = entry.id;
            if (!subscriber.send(entry, undefined)) await session.waitForRoom();
            if (catchUp.overflowed || session.aborted) break;
          }
        }
        if (session.aborted) return;
        if (!catchUp.overflowed) break;
      }
      // Live (no await since the pending queue was found empty), past the last entry replayed.
      catchUp.pending = [];
      catchUp.seam = true;
    } catch (error) {
      if (!session.aborted) session.finish({ kind: 'error', error });
    }
  }

  async #replay(subscriber: Subscriber, catchUp: CatchUp): Promise<void> {
    const session = subscriber.session;
    for (;;) {
      const requested = catchUp.cursor;
      const batch = await this.#engine.range(this.#key, requested, REPLAY_BATCH);
      // An entry dropped from `pending` that the log no longer has: retention trimmed it while
      // the client was behind. (Only the first entry dropped is checked: loss further on, after a
      // second overflow, goes unreported as before; a reported loss is always real.)
      const missed = catchUp.missed;
      catchUp.missed = undefined;
      if (missed !== undefined && requested !== undefined && compareIds(missed, requested) > 0) {
        const first = batch[0]?.id;
        if (first === undefined || compareIds(first, missed) > 0) {
          const lost: Lost = { requested, from: first ?? null };
          session.deliver(encodeEvent({ event: 'history-lost', data: lost }));
        }
      }
      for (const entry of batch) {
        if (session.aborted) return;
        catchUp.cursor = entry.id;
        if (!subscriber.send(entry, undefined)) await session.waitForRoom();
      }
      if (batch.length < REPLAY_BATCH || session.aborted) return;
    }
  }
}

function encodeEntry(entry: LogEntry): Uint8Array | HubError {
  const event = clientEventOf(entry, entry.id);
  return HubError.isInstance(event) ? event : encodeEvent(event);
}

function encodeEvent(event: EventStreamEvent): Uint8Array {
  return encoder.encode(encodeStreamEvent(event));
}

/**
 * Where a subscription starts, and what it reports as lost: an id older than the retained
 * history, or one this topic never had, replays what is left after a `history-lost` event.
 */
async function topicStart(
  engine: HubEngine,
  key: string,
  lastEventId: string,
): Promise<{ start: TailStart; lost?: Lost }> {
  if (lastEventId === '') return { start: { from: 'now' } };
  const bounds = await engine.bounds(key);
  if (isLogId(lastEventId) && bounds) {
    const beforeFirst = compareIds(lastEventId, bounds.first) < 0;
    const afterLast = compareIds(lastEventId, bounds.last) > 0;
    if (!beforeFirst && !afterLast) return { start: { from: 'after', id: lastEventId } };
    if (beforeFirst)
      return { start: { from: 'beginning' }, lost: { requested: lastEventId, from: bounds.first } };
  }
  return { start: { from: 'now' }, lost: { requested: lastEventId, from: null } };
}
