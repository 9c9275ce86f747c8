/**
 * Topic subscriptions, fanned out from one engine tail per topic and hub (not one per
 * subscriber): each entry is encoded once, and its bytes go to every live subscriber's session
 * synchronously, with no promise and no parsing per subscriber. A subscriber that is not live (it
 * is joining, or it fell behind: its queue went past `highWaterMark`) catches up from the log
 * instead (src/hub/_catch-up.ts), at its client's pace, then goes live again with no gap and no
 * duplicate at the seam.
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
import { CatchUp, type CatchUpReader, type HistoryLost } from './_catch-up.ts';
import { ReplayedBytes } from './_replayed-bytes.ts';
import type { LogReader, SharedReads } from './_shared-reads.ts';
import { clientEventOf } from './_validate.ts';
import {
  compareIds,
  type HubEngine,
  isLogId,
  isTailGap,
  type LogEntry,
  type LogTail,
} from './engine.ts';

/**
 * Per-subscription options of `hub.subscribe`: filter and coalesce (on the event as sent), and who
 * subscribes (presence). One shared object for subscriptions without them: no field per
 * connection.
 */
export interface SubscriptionLogic {
  filter: ((event: EventStreamEvent) => boolean) | undefined;
  coalesce: ((event: EventStreamEvent) => string | undefined) | undefined;
  member: string | undefined;
}

/** Where a subscriber starts: live at once, or catching up after an id (or from the start). */
export type TopicStart = { from: 'now' } | { from: 'after'; id: string | undefined };

/**
 * What a topic hands its entries to: a subscriber of `hub.subscribe` (its own connection, the
 * shared bytes), or one topic of a multiplexed connection (src/hub/_multiplex.ts), which encodes
 * each entry with the connection's combined id.
 */
export interface TopicMember extends CatchUpReader {
  /** `undefined` while live: the topic hands it every entry. */
  catchUp: CatchUp | undefined;
  readonly session: FanOutSession;
  /** Who it is, for presence (`undefined`: anonymous). */
  memberName(): string | undefined;
  /** Sends one entry (the shared bytes when given); false when the session has no more room. */
  send(entry: LogEntry, bytes: Uint8Array | undefined, time?: number): boolean;
}

/** Hears that a topic's local members changed (presence). */
export type MembersChanged = (key: string, members: ReadonlySet<TopicMember>) => void;

const encoder = new TextEncoder();

/** The topics of one hub. */
export class Topics {
  readonly #engine: HubEngine;
  readonly #onError: (error: unknown) => void;
  readonly #topics = new Map<string, Topic>();
  readonly #changed: MembersChanged;
  /** Per key, the read of the log's end in flight for subscriptions that came before the tail. */
  readonly #ends = new Map<string, Promise<string | undefined>>();
  /** The catch-ups' reads, shared by subscriptions asking the same (a reconnect storm). */
  readonly #reads: SharedReads;

  constructor(
    engine: HubEngine,
    reads: SharedReads,
    onError: (error: unknown) => void,
    changed: MembersChanged,
  ) {
    this.#engine = engine;
    this.#reads = reads;
    this.#onError = onError;
    this.#changed = changed;
  }

  /** Answers `request` with a subscription to the log `key`; see `Hub.subscribe`. */
  async subscribe(
    request: Request,
    key: string,
    options: ResolvedEventStreamOptions,
    logic: SubscriptionLogic,
  ): Promise<Response> {
    let { start, lost } = await topicStart(this.#reads, key, readLastEventId(request));
    if (start.from === 'now' && !this.#topics.get(key)?.ready) {
      // The topic's tail is not up yet: what is appended from now on is what the log holds
      // after its current end, and the subscriber replays it once the tail is up.
      start = { from: 'after', id: await this.#logEnd(key) };
    }
    const { response, session } = openEventStream(request, options);
    if (!session || session.aborted) return response;
    const topic = this.#topic(key);
    session.releaseRequest(topic.name);
    if (lost) session.deliver(encodeEntryBytes({ event: 'history-lost', data: lost }));
    const subscriber =
      logic.filter === undefined && logic.coalesce === undefined && logic.member === undefined
        ? new Subscriber(topic, session)
        : new TunedSubscriber(topic, session, logic);
    topic.add(subscriber, start);
    return response;
  }

  /**
   * The log's end, one read shared by the subscriptions that arrive while it is in flight (every
   * client reconnecting at once after a deploy asks once, not once each). The read may have been
   * made a moment before a subscription arrived: it then replays the few entries appended in
   * between too, which never leaves a gap after its subscription answered.
   */
  #logEnd(key: string): Promise<string | undefined> {
    let end = this.#ends.get(key);
    if (end === undefined) {
      const reading = this.#engine.bounds(key).then((bounds) => bounds?.last);
      const done = () => {
        if (this.#ends.get(key) === reading) this.#ends.delete(key);
      };
      reading.then(done, done);
      this.#ends.set(key, reading);
      end = reading;
    }
    return end;
  }

  /** Reads of the log shared with the subscriptions asking the same at about the same time. */
  get reads(): LogReader {
    return this.#reads;
  }

  /** Adds a member to the topic of `key` (multiplexed connections); returns its removal. */
  join(key: string, member: TopicMember, start: TopicStart): () => void {
    const topic = this.#topic(key);
    topic.add(member, start);
    return () => topic.remove(member);
  }

  /** The local members of the topic of `key` (presence). */
  members(key: string): ReadonlySet<TopicMember> {
    return this.#topics.get(key)?.members ?? NO_MEMBERS;
  }

  #topic(key: string): Topic {
    let topic = this.#topics.get(key);
    if (!topic) {
      const created = new Topic(
        this.#engine,
        this.#reads,
        key,
        this.#onError,
        this.#changed,
        () => {
          if (this.#topics.get(key) === created) this.#topics.delete(key);
        },
      );
      this.#topics.set(key, created);
      topic = created;
    }
    return topic;
  }

  /** Stops every tail (the hub is closing). */
  close(): void {
    for (const topic of this.#topics.values()) topic.close();
    this.#topics.clear();
  }
}

const NO_MEMBERS: ReadonlySet<TopicMember> = new Set();

/**
 * A subscriber of `hub.subscribe` without filter, coalesce or member (one with any is a
 * {@link TunedSubscriber}), one per connection: three fields and one accessor, which
 * JavaScriptCore (Bun) fits in 48 bytes, where a fourth field (the logic), a second accessor or a
 * property added to the prototype later makes it 64 (measured). Hence methods, not getters.
 */
class Subscriber implements FanOutOwner, TopicMember {
  readonly topic: Topic;
  readonly session: FanOutSession;
  /** `undefined` while live: the topic hands it every entry. */
  catchUp: CatchUp | undefined;

  constructor(topic: Topic, session: FanOutSession) {
    this.topic = topic;
    this.session = session;
    session.owner = this;
  }

  memberName(): string | undefined {
    return undefined;
  }

  sessionEnded(): void {
    this.topic.remove(this);
  }

  get done(): boolean {
    return this.session.aborted;
  }

  /** Takes an entry while catching up (its bytes shared with the others catching up). */
  take(entry: LogEntry): Promise<void> | undefined {
    const bytes = this.topic.replayed.of(entry);
    if (HubError.isInstance(bytes)) {
      this.topic.skip(bytes);
      return undefined;
    }
    return this.send(entry, bytes) ? undefined : this.session.waitForRoom();
  }

  lost(lost: HistoryLost): void {
    this.session.deliver(encodeEntryBytes({ event: 'history-lost', data: lost }));
  }

  /** Sends one entry (the shared bytes when given); false when the session has no more room. */
  send(entry: LogEntry, bytes: Uint8Array | undefined, time: number = now()): boolean {
    return this.deliver(entry, bytes, undefined, time);
  }

  /** Sends `entry` (its shared bytes when given) under a coalescing key. */
  protected deliver(
    entry: LogEntry,
    bytes: Uint8Array | undefined,
    key: string | undefined,
    time: number,
  ): boolean {
    let payload = bytes;
    if (payload === undefined) {
      const encoded = encodeEntry(entry);
      if (HubError.isInstance(encoded)) return this.topic.skip(encoded);
      payload = encoded;
    }
    return this.session.deliver(payload, key, time);
  }
}

/** A subscriber with a filter, a coalesce key or a member name. */
class TunedSubscriber extends Subscriber {
  readonly #logic: SubscriptionLogic;

  constructor(topic: Topic, session: FanOutSession, logic: SubscriptionLogic) {
    super(topic, session);
    this.#logic = logic;
  }

  override memberName(): string | undefined {
    return this.#logic.member;
  }

  override send(entry: LogEntry, bytes: Uint8Array | undefined, time: number = now()): boolean {
    const { filter, coalesce } = this.#logic;
    let key: string | undefined;
    if (filter !== undefined || coalesce !== undefined) {
      const event = clientEventOf(entry, entry.id);
      if (HubError.isInstance(event)) return this.topic.skip(event);
      if (filter !== undefined && !filter(event)) return true;
      key = coalesce?.(event);
    }
    return this.deliver(entry, bytes, key, time);
  }
}

class Topic {
  readonly #reads: LogReader;
  readonly #key: string;
  readonly #onIdle: () => void;
  readonly #onError: (error: unknown) => void;
  readonly #changed: MembersChanged;
  readonly #subscribers = new Set<TopicMember>();
  readonly #tail: LogTail;
  /** The tail is up: every entry appended from now on reaches `#deliver`. */
  ready = false;
  /** What messages call a subscriber's stream (one string for all of them). */
  readonly name: string;
  /** The bytes of the entries its subscribers are catching up on, encoded once for all. */
  readonly replayed: ReplayedBytes = new ReplayedBytes(encodeEntry);

  constructor(
    engine: HubEngine,
    reads: LogReader,
    key: string,
    onError: (e: unknown) => void,
    changed: MembersChanged,
    onIdle: () => void,
  ) {
    this.#reads = reads;
    this.#key = key;
    this.name = `a subscription to ${key}`;
    this.#onIdle = onIdle;
    this.#onError = onError;
    this.#changed = changed;
    this.#tail = engine.tail(
      key,
      (entry) => this.#deliver(entry),
      (error) => {
        if (isTailGap(error)) this.#gap(error.gap.after, error.gap.next);
        onError(error);
      },
    );
    this.#tail.ready.then(
      () => {
        this.ready = true;
      },
      () => {},
    );
  }

  get members(): ReadonlySet<TopicMember> {
    return this.#subscribers;
  }

  add(subscriber: TopicMember, start: TopicStart): void {
    this.#subscribers.add(subscriber);
    this.#changed(this.#key, this.#subscribers);
    if (start.from === 'now') return; // live at once: the tail is up (see Topics.subscribe)
    subscriber.catchUp = new CatchUp(start.id);
    void this.#join(subscriber, subscriber.catchUp);
  }

  remove(subscriber: TopicMember): void {
    if (!this.#subscribers.delete(subscriber)) return;
    this.#changed(this.#key, this.#subscribers);
    if (this.#subscribers.size > 0) return;
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
        if (!catchUp.offer(entry)) continue; // held while catching up, or handed over already
        subscriber.catchUp = undefined; // past the seam: live
      }
      if (skipped) continue;
      try {
        // A subscriber of hub.subscribe takes the shared bytes; a multiplexed one encodes each
        // entry with its connection's id.
        if (!(subscriber instanceof Subscriber)) {
          if (!subscriber.send(entry, undefined, time)) this.#fallBehind(subscriber, entry.id);
          continue;
        }
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

  /**
   * The tail fell behind the log's retention: the entries after `after`, before `next` (which it
   * delivers next), are gone. A live subscriber has every entry up to `after` (one that joined
   * live since starts at the tail's position), so it lost them: it hears `history-lost` now,
   * right before `next`, and stays live. One catching up settles it on its way (src/hub/_catch-up.ts).
   */
  #gap(after: string, next: string): void {
    for (const subscriber of this.#subscribers) {
      const catchUp = subscriber.catchUp;
      if (catchUp !== undefined && !catchUp.caughtUp) {
        catchUp.gap(after, next);
        continue;
      }
      // Live: it has every entry the tail delivered, up to `after`. Caught up: maybe more, from
      // its replay, which may have read into the gap before the trim (it misses the rest).
      const lost = catchUp ? catchUp.lostInGap(after, next) : { requested: after, from: next };
      if (lost) subscriber.lost?.(lost);
    }
  }

  #fallBehind(subscriber: TopicMember, cursor: string): void {
    if (subscriber.session.aborted) return;
    // The tail's next entries follow the cursor: they wait in the catch-up's queue, no replay.
    subscriber.catchUp = new CatchUp(cursor, false);
    void this.#catchUp(subscriber, subscriber.catchUp);
  }

  async #join(subscriber: TopicMember, catchUp: CatchUp): Promise<void> {
    try {
      await this.#tail.ready;
    } catch (error) {
      subscriber.session.finish({ kind: 'error', error });
      return;
    }
    await this.#catchUp(subscriber, catchUp);
  }

  /** Catches up at the pace of the client (once it has room), then the subscriber is live. */
  async #catchUp(subscriber: TopicMember, catchUp: CatchUp): Promise<void> {
    const session = subscriber.session;
    this.replayed.started();
    try {
      await session.waitForRoom();
      await catchUp.run(this.#reads, this.#key, subscriber);
    } catch (error) {
      if (!session.aborted) session.finish({ kind: 'error', error });
    } finally {
      this.replayed.ended();
    }
  }
}

function encodeEntry(entry: LogEntry): Uint8Array | HubError {
  const event = clientEventOf(entry, entry.id);
  return HubError.isInstance(event) ? event : encodeEntryBytes(event);
}

/** The bytes of an event (the hub's own: `history-lost`, and a multiplexed connection's). */
export function encodeEntryBytes(event: EventStreamEvent): Uint8Array {
  return encoder.encode(encodeStreamEvent(event));
}

/**
 * Where a subscription starts, and what it reports as lost: an id older than the retained
 * history, or one this topic never had, replays what is left after a `history-lost` event.
 */
export async function topicStart(
  engine: LogReader,
  key: string,
  lastEventId: string,
): Promise<{ start: TopicStart; lost?: HistoryLost }> {
  if (lastEventId === '') return { start: { from: 'now' } };
  const bounds = await engine.bounds(key);
  if (isLogId(lastEventId) && bounds) {
    const beforeFirst = compareIds(lastEventId, bounds.first) < 0;
    const afterLast = compareIds(lastEventId, bounds.last) > 0;
    if (!beforeFirst && !afterLast) return { start: { from: 'after', id: lastEventId } };
    if (beforeFirst) {
      return {
        start: { from: 'after', id: undefined },
        lost: { requested: lastEventId, from: bounds.first },
      };
    }
  }
  return { start: { from: 'now' }, lost: { requested: lastEventId, from: null } };
}
