/**
 * ssekit/client/multiplex: many topics on one connection (the hub's `subscribeMany`), with a
 * handler or an iterator per subscription, topics added and removed at run time without
 * reconnecting, every topic resumed after a cut, each topic's events in order and none twice.
 * In browsers, tabs of one origin share one connection (`shareAcrossTabs`).
 *
 * @module
 */
import { ServerError, StreamError } from '../errors.ts';
import type { ServerSentEvent } from '../protocol/types.ts';
import { createLink, type Link } from './_multiplex-link.ts';
import { shareAcrossTabs, type TabRole } from './_multiplex-tabs.ts';
import type { FetchEventStreamOptions } from './fetch-event-stream.ts';

/** An event of a topic: the event as sent, and its topic. */
export interface TopicEvent extends ServerSentEvent {
  readonly topic: string;
}

/** Options of {@link createMultiplex}: the stream's (headers, credentials, retry...), and: */
export interface MultiplexOptions
  extends Omit<
    FetchEventStreamOptions,
    | 'onEvent'
    | 'resume'
    | 'lastEventId'
    | 'isTerminal'
    | 'json'
    | 'body'
    | 'method'
    | 'signal'
    | 'onClose'
    | 'highWaterMark'
  > {
  /** The endpoint of `hub.handleTopics` (POST), which adds and removes topics on the connection. */
  controlUrl: string | URL;
  /** The query parameter that lists the topics (`?topic=a&topic=b`). @default 'topic' */
  topicParam?: string;
  /**
   * One connection for every tab of the origin (Web Locks elect a leader tab, which holds the
   * connection; a BroadcastChannel fans its events out). Where those APIs are missing, each
   * tab has its own connection.
   * @default true
   */
  shareAcrossTabs?: boolean;
  /**
   * With `shareAcrossTabs`, how often the leader tab says it runs. A leader silent for 4 beats
   * (its main thread hangs in a busy loop, say) is asked, and one beat (and jitter) later another
   * tab takes the connection over from it (stealing its Web Lock), resuming every topic.
   * @default 1000
   */
  tabHeartbeatMs?: number;
  /**
   * Events an iterator holds for a loop that does not keep up; past it, the iterator fails with
   * a `StreamError` `slow-consumer`.
   * @default 1024
   */
  highWaterMark?: number;
  /** Hears connection failures (it reconnects by itself) and control requests that failed. */
  onError?: (error: unknown) => void;
}

/** Callbacks of one subscription. */
export interface SubscribeHandlers {
  onEvent?: (event: TopicEvent) => void;
  /**
   * A topic was refused (`ServerError` whose `type` is the hub's code: `topic-forbidden`,
   * `too-many-topics`; `data` is `{ topic, code, message }`). Without it, an iterator fails.
   */
  onError?: (error: ServerError) => void;
}

/** One subscription: iterate it (`for await`), or pass handlers; `unsubscribe()` ends it. */
export interface TopicSubscription extends AsyncIterable<TopicEvent> {
  /** Its topics (a refused one is taken out). */
  readonly topics: readonly string[];
  /**
   * Resolves once the connection has every topic (events published from then on arrive), or
   * once the refused ones are taken out.
   */
  readonly ready: Promise<void>;
  unsubscribe(): void;
}

/** Topics over one connection. */
export interface Multiplex {
  /** Subscribes to topics: their events from now on, in order, once. */
  subscribe(
    topics: string | readonly string[],
    handlers?: SubscribeHandlers | ((event: TopicEvent) => void),
  ): TopicSubscription;
  /** `leader`: this tab holds the shared connection; `follower`: another tab does; `alone`: not shared. */
  readonly role: TabRole;
  /** Ends every subscription and the connection (or this tab's share of it). */
  close(): void;
}

interface Subscription {
  topics: Set<string>;
  deliver(event: TopicEvent): void;
  fail(error: unknown): void;
  /** Resolves `ready` once every topic is live. */
  check(): void;
}

/**
 * Opens a multiplexed connection to a hub's `subscribeMany` endpoint (a GET; the topics go in
 * the query), controlled through its `handleTopics` endpoint.
 *
 * @example
 * ```ts
 * import { createMultiplex } from 'ssekit/client/multiplex';
 *
 * const topics = createMultiplex('/api/topics', { controlUrl: '/api/topics/control' });
 * topics.subscribe('alerts', (event) => console.log(event.topic, event.data));
 * for await (const event of topics.subscribe(['logs', 'metrics'])) console.log(event.data);
 * ```
 */
export function createMultiplex(url: string | URL, options: MultiplexOptions): Multiplex {
  const {
    controlUrl,
    topicParam = 'topic',
    shareAcrossTabs: share = true,
    tabHeartbeatMs = 1000,
    highWaterMark = 1024,
    onError = () => {},
    ...stream
  } = options;
  if (typeof controlUrl !== 'string' && !(controlUrl instanceof URL)) {
    throw new TypeError('createMultiplex: pass `controlUrl`, the endpoint of hub.handleTopics.');
  }
  if (!(tabHeartbeatMs >= 10 && tabHeartbeatMs < 2 ** 31)) {
    throw new TypeError(
      `createMultiplex: tabHeartbeatMs must be a number of milliseconds from 10, got ${tabHeartbeatMs}.`,
    );
  }
  const subscriptions = new Set<Subscription>();
  const cursors = new Map<string, string>();
  /** The topics the connection has confirmed (`subscribed`). */
  const live = new Set<string>();
  let lastEventId = '';
  const want = (): ReadonlySet<string> => {
    const topics = new Set<string>();
    for (const subscription of subscriptions)
      for (const topic of subscription.topics) topics.add(topic);
    return topics;
  };

  /** Every event, from this tab's connection or from the leader tab's. */
  const receive = (event: ServerSentEvent): void => {
    if (event.id !== '' || event.type === 'unsubscribed') lastEventId = event.id;
    if (event.type === 'subscribed' || event.type === 'unsubscribed') {
      const { topics } = JSON.parse(event.data) as { topics: string[] };
      for (const topic of topics) {
        if (event.type === 'subscribed') live.add(topic);
        else live.delete(topic);
      }
      for (const subscription of subscriptions) subscription.check();
      return;
    }
    if (event.type === 'topic-error' || event.type === 'history-lost') {
      const data = JSON.parse(event.data) as { topic: string; code?: string; message?: string };
      if (event.type === 'history-lost') {
        dispatch({ ...event, topic: data.topic });
        return;
      }
      const error = new ServerError(data.message ?? 'Topic refused', data, event.id, {
        type: data.code,
      });
      for (const subscription of [...subscriptions]) {
        if (subscription.topics.delete(data.topic)) subscription.fail(error);
      }
      tabs.changed();
      return;
    }
    const position = positionOf(event.id);
    if (position === undefined) return;
    const [topic, cursor] = position;
    const before = cursors.get(topic);
    if (before !== undefined && compareIds(cursor, before) <= 0) return; // seen: none twice
    cursors.set(topic, cursor);
    dispatch({ ...event, topic });
  };
  const dispatch = (event: TopicEvent): void => {
    for (const subscription of subscriptions) {
      if (subscription.topics.has(event.topic)) subscription.deliver(event);
    }
  };

  let link: Link | undefined;
  const tabs = shareAcrossTabs({
    name: `ssekit-multiplex:${new URL(url, globalThis.location?.href).href}`,
    share,
    heartbeatMs: tabHeartbeatMs,
    want,
    receive,
    lead(topics) {
      link ??= createLink({
        url: String(url),
        controlUrl: String(controlUrl),
        topicParam,
        stream,
        want: tabs.want,
        onEvent: (event) => {
          receive(event);
          tabs.forward(event);
        },
        onError,
      });
      link.start(lastEventId, topics);
      return link;
    },
    lastEventId: () => lastEventId,
    live: () => live,
  });

  return {
    subscribe(topics, handlers) {
      const names = typeof topics === 'string' ? [topics] : [...topics];
      if (names.length === 0 || names.some((name) => typeof name !== 'string' || name === '')) {
        throw new TypeError('subscribe: pass a topic name or an array of topic names.');
      }
      const onEvent = typeof handlers === 'function' ? handlers : handlers?.onEvent;
      const onFail = typeof handlers === 'function' ? undefined : handlers?.onError;
      const queue = createQueue(highWaterMark);
      let resolveReady = () => {};
      const ready = new Promise<void>((resolve) => {
        resolveReady = resolve;
      });
      const subscription: Subscription = {
        topics: new Set(names),
        deliver(event) {
          if (onEvent) onEvent(event);
          else queue.push(event);
        },
        fail(error) {
          subscription.check();
          if (onFail) onFail(error as ServerError);
          else if (!onEvent) queue.fail(error);
        },
        check() {
          for (const topic of subscription.topics) if (!live.has(topic)) return;
          resolveReady();
        },
      };
      queue.onOverflow = () => {
        subscriptions.delete(subscription);
        tabs.changed();
      };
      subscriptions.add(subscription);
      subscription.check();
      tabs.changed();
      const unsubscribe = () => {
        if (!subscriptions.delete(subscription)) return;
        resolveReady();
        queue.end();
        tabs.changed();
      };
      return {
        ready,
        get topics() {
          return [...subscription.topics];
        },
        unsubscribe,
        [Symbol.asyncIterator]: () => queue.iterate(unsubscribe),
      };
    },
    get role() {
      return tabs.role;
    },
    close() {
      for (const subscription of subscriptions) subscription.fail(undefined);
      subscriptions.clear();
      tabs.close();
      link?.close();
    },
  };
}

/** The topic and cursor an event id of a multiplexed connection starts with. */
function positionOf(id: string): [string, string] | undefined {
  const end = id.indexOf(',');
  const first = end === -1 ? id : id.slice(0, end);
  const equals = first.indexOf('=');
  if (equals === -1) return undefined;
  try {
    return [decodeURIComponent(first.slice(0, equals)), first.slice(equals + 1)];
  } catch {
    return undefined;
  }
}

function compareIds(a: string, b: string): number {
  const [aMs = 0, aSeq = 0] = a.split('-').map(Number);
  const [bMs = 0, bSeq = 0] = b.split('-').map(Number);
  return aMs === bMs ? aSeq - bSeq : aMs - bMs;
}

/** A bounded queue behind an async iterator. */
function createQueue(limit: number) {
  const items: TopicEvent[] = [];
  let waiting: ((result: IteratorResult<TopicEvent>) => void) | undefined;
  let failWaiting: ((error: unknown) => void) | undefined;
  let ended = false;
  let failure: { error: unknown } | undefined;
  const queue = {
    onOverflow: () => {},
    push(event: TopicEvent) {
      if (ended) return;
      if (waiting) {
        const resolve = waiting;
        waiting = undefined;
        return resolve({ value: event, done: false });
      }
      if (items.length >= limit) {
        queue.fail(
          new StreamError('slow-consumer', `The loop fell more than ${limit} events behind.`),
        );
        return queue.onOverflow();
      }
      items.push(event);
    },
    fail(error: unknown) {
      if (ended) return;
      ended = true;
      if (error !== undefined) failure = { error };
      const reject = failWaiting;
      const resolve = waiting;
      waiting = undefined;
      if (failure && reject) reject(failure.error);
      else resolve?.({ value: undefined, done: true });
    },
    end: () => queue.fail(undefined),
    iterate(unsubscribe: () => void): AsyncIterator<TopicEvent> {
      return {
        next() {
          const item = items.shift();
          if (item) return Promise.resolve({ value: item, done: false });
          if (failure) return Promise.reject(failure.error);
          if (ended) return Promise.resolve({ value: undefined, done: true });
          return new Promise((resolve, reject) => {
            waiting = resolve;
            failWaiting = reject;
          });
        },
        return() {
          unsubscribe();
          return Promise.resolve({ value: undefined, done: true });
        },
      };
    },
  };
  return queue;
}
