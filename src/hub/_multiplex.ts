/**
 * Multiplexed subscriptions: several topics on one connection (`hub.subscribeMany`), topics added
 * and removed on a live connection (`hub.handleTopics`), each topic's position in every event id
 * (src/hub/_multiplex-id.ts). Each topic of a connection is a member of the hub's one fan-out of
 * that topic (src/hub/_topics.ts), so a connection follows its topics with no tail of its own;
 * it encodes each event itself, since its ids are its own.
 *
 * Control requests reach the connection on any instance through one log of the engine
 * (`multiplex:control`), which every hub that holds multiplexed connections tails: the instance
 * that answers the control request authorizes it and appends the decision, the instance that
 * holds the connection applies it. No engine method beyond the contract is needed.
 */
import type { FanOutOwner, FanOutSession } from '../_internal/fan-out.ts';
import { now } from '../_internal/timers.ts';
import { HubError, RequestError } from '../errors.ts';
import { openEventStream, readLastEventId } from '../server/create-event-stream.ts';
import type { ResolvedEventStreamOptions } from '../server/options.ts';
import type { EventStreamEvent } from '../server/types.ts';
import type { CatchUp, HistoryLost } from './_catch-up.ts';
import { errorAnswer } from './_error-answer.ts';
import { type Cursors, formatMultiplexId, parseMultiplexId } from './_multiplex-id.ts';
import { randomRunId } from './_run-ids.ts';
import { encodeEntryBytes, type TopicMember, type Topics } from './_topics.ts';
import { clientEventOf, topicProblem } from './_validate.ts';
import { compareIds, type HubEngine, type LogEntry, type LogTail } from './engine.ts';

/** What messages call a multiplexed stream once its request is let go. */
const MULTIPLEXED = 'a multiplexed subscription (subscribeMany)';

/** The log that carries control requests to the instance holding the connection. */
export const CONTROL_KEY = 'multiplex:control';

/** Decides whether `request` may subscribe to `topic`. */
export type AuthorizeTopic = (topic: string, request: Request) => boolean | Promise<boolean>;

/** Why a topic was not subscribed: the data of a `topic-error` event. */
export interface TopicDenial {
  topic: string;
  code: 'topic-forbidden' | 'too-many-topics' | 'engine-error';
  message: string;
}

/** What a multiplexed connection needs of its hub. */
export interface MultiplexSettings {
  engine: HubEngine;
  topics: Topics;
  onError: (error: unknown) => void;
  authorize: AuthorizeTopic | undefined;
  maxTopics: number;
}

/** Per-connection logic: the filter, coalescing, and who it is (presence). */
export interface MultiplexLogic {
  filter: ((topic: string, event: EventStreamEvent) => boolean) | undefined;
  coalesce: ((topic: string, event: EventStreamEvent) => string | undefined) | undefined;
  member: string | undefined;
}

/** Where a topic of a connection starts, and the loss to report first. */
interface Start {
  after: string | undefined;
  lost?: HistoryLost;
}

/** The multiplexed connections of one hub. */
export class Multiplex {
  readonly settings: MultiplexSettings;
  readonly #connections = new Map<string, Connection>();
  #control: LogTail | undefined;

  constructor(settings: MultiplexSettings) {
    this.settings = settings;
  }

  /** Answers `request` with a connection to `names`; see `Hub.subscribeMany`. */
  async open(
    request: Request,
    names: readonly string[],
    options: ResolvedEventStreamOptions,
    logic: MultiplexLogic,
  ): Promise<Response> {
    const refuse = (message: string) =>
      errorAnswer(request, new RequestError('bad-request', message), options.cors);
    const topics = [...new Set(names)];
    const problem = this.topicsProblem(topics);
    if (problem !== undefined) return refuse(problem);
    const lastEventId = readLastEventId(request);
    let cursors: Cursors | undefined;
    if (lastEventId !== '') {
      const parsed = parseMultiplexId(lastEventId, this.settings.maxTopics);
      if (typeof parsed === 'string') {
        return refuse(
          `Last-Event-ID ${JSON.stringify(lastEventId.slice(0, 64))} is not an event id of a multiplexed subscription: ${parsed}.`,
        );
      }
      cursors = parsed;
    }
    let allowed: string[];
    let denied: TopicDenial[];
    let starts: Start[];
    try {
      ({ allowed, denied } = await this.authorize(topics, request));
      starts = await Promise.all(allowed.map((topic) => this.#start(topic, cursors)));
      await this.#controlTail().ready;
    } catch (error) {
      this.settings.onError(error);
      return errorAnswer(request, error, options.cors);
    }
    const { response, session } = openEventStream(request, options);
    if (!session || session.aborted) return response;
    session.releaseRequest(MULTIPLEXED);
    const connection = new Connection(randomRunId(), session, this, logic);
    this.#connections.set(connection.id, connection);
    connection.open(allowed, starts, denied);
    return response;
  }

  /** Why a list of topic names cannot be subscribed, or undefined. */
  topicsProblem(topics: readonly unknown[]): string | undefined {
    if (topics.length > this.settings.maxTopics) {
      return `At most ${this.settings.maxTopics} topics per connection (maxTopicsPerConnection), got ${topics.length}.`;
    }
    for (const topic of topics) {
      const problem = typeof topic === 'string' ? topicProblem(topic) : 'a topic name is a string';
      if (problem !== undefined) {
        return `Not a topic: ${problem} (got ${JSON.stringify(String(topic).slice(0, 64))}).`;
      }
    }
    return undefined;
  }

  /** Calls the hook for every topic: those allowed, and why the others are not. */
  async authorize(
    topics: readonly string[],
    request: Request,
  ): Promise<{ allowed: string[]; denied: TopicDenial[] }> {
    const hook = this.settings.authorize;
    if (hook === undefined) return { allowed: [...topics], denied: [] };
    const verdicts = await Promise.all(
      topics.map(async (topic) => {
        try {
          return (await hook(topic, request)) === true;
        } catch (error) {
          this.settings.onError(error);
          return false;
        }
      }),
    );
    const allowed: string[] = [];
    const denied: TopicDenial[] = [];
    topics.forEach((topic, index) => {
      if (verdicts[index]) allowed.push(topic);
      else denied.push(forbidden(topic));
    });
    return { allowed, denied };
  }

  /** Sends a control decision to the connection, wherever it is. */
  async control(
    connection: string,
    add: string[],
    remove: string[],
    denied: TopicDenial[],
  ): Promise<void> {
    await this.settings.engine.append(
      CONTROL_KEY,
      { event: 'control', data: JSON.stringify({ connection, add, remove, denied }) },
      { maxLen: 10_000, maxAgeMs: 60_000 },
    );
  }

  forget(connection: Connection): void {
    this.#connections.delete(connection.id);
  }

  close(): void {
    this.#control?.close();
    this.#control = undefined;
    for (const connection of this.#connections.values()) connection.close();
  }

  /** Where a topic starts: after its cursor in the client's id, else after the log's end. */
  async start(topic: string): Promise<Start> {
    return this.#start(topic, undefined);
  }

  async #start(topic: string, cursors: Cursors | undefined): Promise<Start> {
    const bounds = await this.settings.topics.reads.bounds(`topic:${topic}`);
    if (cursors === undefined || !cursors.has(topic)) return { after: bounds?.last };
    const cursor = cursors.get(topic);
    // The log was empty when the topic was subscribed: all it holds came later.
    if (cursor === undefined) return { after: undefined };
    if (bounds === undefined) return { after: undefined, lost: { requested: cursor, from: null } };
    if (compareIds(cursor, bounds.first) < 0) {
      return { after: undefined, lost: { requested: cursor, from: bounds.first } };
    }
    if (compareIds(cursor, bounds.last) > 0) {
      return { after: bounds.last, lost: { requested: cursor, from: null } };
    }
    return { after: cursor };
  }

  // One tail per hub, for as long as it lives: a connection opens only once it is up, so no
  // control request for it can be missed.
  #controlTail(): LogTail {
    if (this.#control === undefined) {
      const tail = this.settings.engine.tail(
        CONTROL_KEY,
        (entry) => this.#apply(entry),
        this.settings.onError,
      );
      // A tail that could not be set up (the engine is down) is tried again by the next open.
      tail.ready.catch(() => {
        if (this.#control === tail) this.#control = undefined;
      });
      this.#control = tail;
    }
    return this.#control;
  }

  #apply(entry: LogEntry): void {
    let decision: { connection: string; add: string[]; remove: string[]; denied: TopicDenial[] };
    try {
      decision = JSON.parse(entry.event.data ?? '');
    } catch (error) {
      this.settings.onError(error);
      return;
    }
    this.#connections
      .get(decision.connection)
      ?.change(decision.add, decision.remove, decision.denied);
  }
}

function forbidden(topic: string): TopicDenial {
  return {
    topic,
    code: 'topic-forbidden',
    message: `Not allowed to subscribe to ${JSON.stringify(topic)}.`,
  };
}

/** One multiplexed connection: its topics, their cursors, its session. */
class Connection implements FanOutOwner {
  readonly id: string;
  readonly session: FanOutSession;
  readonly multiplex: Multiplex;
  readonly logic: MultiplexLogic;
  /** Every topic's last id sent (in the order they were subscribed). */
  readonly cursors: Cursors = new Map();
  readonly #members = new Map<string, { member: MultiplexMember; leave: () => void }>();
  /** Control changes apply one at a time, in the order they were logged. */
  #changes: Promise<void> = Promise.resolve();

  constructor(id: string, session: FanOutSession, multiplex: Multiplex, logic: MultiplexLogic) {
    this.id = id;
    this.session = session;
    this.multiplex = multiplex;
    this.logic = logic;
    session.owner = this;
  }

  open(topics: string[], starts: Start[], denied: TopicDenial[]): void {
    for (const denial of denied) this.meta({ event: 'topic-error', data: denial });
    topics.forEach((topic, index) => {
      const lost = starts[index]!.lost;
      if (lost) this.meta({ event: 'history-lost', data: { topic, ...lost } });
    });
    this.#subscribe(topics, starts);
  }

  /** Applies a control decision (after the ones before it). */
  change(add: string[], remove: string[], denied: TopicDenial[]): void {
    this.#changes = this.#changes.then(() => this.#change(add, remove, denied));
  }

  async #change(add: string[], remove: string[], denied: TopicDenial[]): Promise<void> {
    if (this.session.aborted) return;
    const removed = remove.filter((topic) => this.#leave(topic));
    if (removed.length > 0) {
      const first = this.cursors.keys().next().value;
      this.meta({
        event: 'unsubscribed',
        id: first === undefined ? '' : formatMultiplexId(first, this.cursors),
        data: { topics: removed },
      });
    }
    for (const denial of denied) this.meta({ event: 'topic-error', data: denial });
    const fresh: string[] = [];
    for (const topic of new Set(add)) {
      if (this.#members.has(topic)) continue;
      if (this.#members.size + fresh.length >= this.multiplex.settings.maxTopics) {
        this.meta({
          event: 'topic-error',
          data: {
            topic,
            code: 'too-many-topics',
            message: `At most ${this.multiplex.settings.maxTopics} topics per connection.`,
          } satisfies TopicDenial,
        });
        continue;
      }
      fresh.push(topic);
    }
    if (fresh.length === 0) return;
    let starts: Start[];
    try {
      starts = await Promise.all(fresh.map((topic) => this.multiplex.start(topic)));
    } catch (error) {
      this.multiplex.settings.onError(error);
      for (const topic of fresh) {
        this.meta({
          event: 'topic-error',
          data: {
            topic,
            code: 'engine-error',
            message: 'The subscription failed: the storage engine failed.',
          } satisfies TopicDenial,
        });
      }
      return;
    }
    if (!this.session.aborted) this.#subscribe(fresh, starts);
  }

  /** Subscribes to `topics` from their starts, announced by one `subscribed` event. */
  #subscribe(topics: string[], starts: Start[]): void {
    topics.forEach((topic, index) => {
      this.cursors.set(topic, starts[index]!.after);
    });
    const first = this.cursors.keys().next().value;
    const announce: EventStreamEvent = {
      event: 'subscribed',
      data: { connection: this.id, topics },
    };
    // Its id holds the new topics' starts: a resume from it misses nothing published since.
    if (first !== undefined) announce.id = formatMultiplexId(topics[0] ?? first, this.cursors);
    this.meta(announce);
    const { topics: fanOut } = this.multiplex.settings;
    topics.forEach((topic, index) => {
      const member = new MultiplexMember(topic, this);
      const leave = fanOut.join(`topic:${topic}`, member, {
        from: 'after',
        id: starts[index]!.after,
      });
      this.#members.set(topic, { member, leave });
    });
  }

  #leave(topic: string): boolean {
    const joined = this.#members.get(topic);
    if (!joined) return false;
    joined.member.removed = true;
    joined.leave();
    this.#members.delete(topic);
    this.cursors.delete(topic);
    return true;
  }

  /** Sends one of the hub's own events (`subscribed`, `topic-error`, ...). */
  meta(event: EventStreamEvent): void {
    this.session.deliver(encodeEntryBytes(event));
  }

  sessionEnded(): void {
    this.close();
  }

  close(): void {
    for (const topic of [...this.#members.keys()]) this.#leave(topic);
    this.multiplex.forget(this);
  }
}

/** One topic of a connection, as a member of the topic's fan-out. */
class MultiplexMember implements TopicMember {
  readonly topic: string;
  readonly connection: Connection;
  catchUp: CatchUp | undefined;
  removed = false;

  constructor(topic: string, connection: Connection) {
    this.topic = topic;
    this.connection = connection;
  }

  get session(): FanOutSession {
    return this.connection.session;
  }

  memberName(): string | undefined {
    return this.connection.logic.member;
  }

  get done(): boolean {
    return this.removed || this.connection.session.aborted;
  }

  take(entry: LogEntry): Promise<void> | undefined {
    return this.send(entry) ? undefined : this.session.waitForRoom();
  }

  lost(lost: HistoryLost): void {
    this.connection.meta({ event: 'history-lost', data: { topic: this.topic, ...lost } });
  }

  send(entry: LogEntry, _bytes?: Uint8Array, time: number = now()): boolean {
    if (this.removed) return true;
    const { cursors, logic } = this.connection;
    cursors.set(this.topic, entry.id);
    const event = clientEventOf(entry, formatMultiplexId(this.topic, cursors));
    if (HubError.isInstance(event)) {
      this.connection.multiplex.settings.onError(event);
      return true;
    }
    if (logic.filter !== undefined && !logic.filter(this.topic, event)) return true;
    // Per topic (a NUL never appears in a topic name). A replaced event leaves the queue and the
    // newer one goes to its end, so every id still follows the events it positions.
    const key = logic.coalesce?.(this.topic, event);
    const coalesced = key === undefined ? undefined : `${this.topic}\u0000${key}`;
    return this.session.deliver(encodeEntryBytes(event), coalesced, time);
  }
}
