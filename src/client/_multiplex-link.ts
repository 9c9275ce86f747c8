/**
 * The one connection of a multiplexed client (ssekit/client/multiplex): a `fetchEventStream` GET
 * to the hub's `subscribeMany` endpoint with the topics in the URL, kept in line with the topics
 * wanted by control requests to `handleTopics` (no reconnection to add or remove a topic), and
 * resumed after a cut with the `Last-Event-ID` alone, which holds every topic's position.
 */
import type { ServerSentEvent } from '../protocol/types.ts';
import {
  type EventStream,
  type FetchEventStreamOptions,
  fetchEventStream,
} from './fetch-event-stream.ts';

/** What the link reports: every event (the hub's own ones included), as received. */
export interface LinkOptions {
  url: string;
  controlUrl: string;
  topicParam: string;
  stream: Omit<FetchEventStreamOptions, 'onEvent' | 'resume' | 'lastEventId' | 'isTerminal'>;
  /** The topics wanted now. */
  want(): ReadonlySet<string>;
  onEvent(event: ServerSentEvent): void;
  onError(error: unknown): void;
}

export interface Link {
  /** The wanted topics changed: add and remove on the live connection (or open, or close it). */
  sync(): void;
  /**
   * Opens from this `Last-Event-ID`, keeping these topics besides the wanted ones until
   * `release()` (a hand-off: the other tabs have not said what they want yet).
   */
  start(lastEventId: string, topics: Iterable<string>): void;
  release(): void;
  /** Closes the connection until the next `start()` (this tab stops leading). */
  suspend(): void;
  close(): void;
}

export function createLink(options: LinkOptions): Link {
  let stream: EventStream | undefined;
  let connection: string | undefined;
  let lastEventId = '';
  /** The topics the server says the connection has. */
  const subscribed = new Set<string>();
  /** Asked for and not yet confirmed (or refused). */
  const adding = new Set<string>();
  const removing = new Set<string>();
  let inFlight = false;
  let closed = false;
  // Between suspend() and start(): another tab leads, and nothing here may open a connection (a
  // control request or a reopen timer of the suspended one would).
  let suspended = false;
  let extra = new Set<string>();

  const url = (topics: Iterable<string>) => {
    const target = new URL(options.url, globalThis.location?.href);
    target.searchParams.delete(options.topicParam);
    for (const topic of topics) target.searchParams.append(options.topicParam, topic);
    return target.href;
  };
  const wanted = () => new Set([...options.want(), ...extra]);

  const open = () => {
    connection = undefined;
    subscribed.clear();
    adding.clear();
    removing.clear();
    const current = fetchEventStream(url(wanted()), {
      ...options.stream,
      lastEventId,
      // A topic may publish `done` or `error` events: nothing ends a multiplexed connection.
      isTerminal: () => undefined,
      // A resume asks for the topics wanted then; its Last-Event-ID has every position.
      resume: () => {
        connection = undefined;
        subscribed.clear();
        adding.clear();
        removing.clear();
        return { url: url(wanted()) };
      },
      onEvent: receive,
      onClose: (info) => {
        if (info.reason === 'closed' || stream !== current) return;
        stream = undefined;
        // Retries ran out, or the server refused (a 4xx): the next change of topics opens anew.
        if (info.reason === 'error') options.onError(info.error);
        // The server ended the response without asking to be resumed: a topic never ends, so
        // open again (from the last position), a moment later.
        else setTimeout(() => stream === undefined && link.sync(), REOPEN_DELAY_MS);
      },
    });
    stream = current;
  };

  const receive = (event: ServerSentEvent) => {
    if (event.id !== '' || event.type === 'unsubscribed') lastEventId = event.id;
    const data = META[event.type] ? parse(event.data) : undefined;
    if (data === undefined) {
      // an event of a topic, or history-lost
    } else if (event.type === 'subscribed') {
      connection = data.connection;
      for (const topic of data.topics) {
        subscribed.add(topic);
        adding.delete(topic);
      }
    } else if (event.type === 'unsubscribed') {
      for (const topic of data.topics) {
        subscribed.delete(topic);
        removing.delete(topic);
      }
    } else if (event.type === 'topic-error') {
      adding.delete(data.topic);
    }
    options.onEvent(event);
    if (data !== undefined) link.sync();
  };

  const control = async (add: string[], remove: string[]) => {
    inFlight = true;
    try {
      const fetch = options.stream.fetch ?? globalThis.fetch.bind(globalThis);
      const response = await fetch(options.controlUrl, {
        method: 'POST',
        headers: { ...headersOf(options.stream.headers), 'content-type': 'application/json' },
        credentials: options.stream.credentials ?? 'same-origin',
        body: JSON.stringify({ connection, add, remove }),
      });
      await response.body?.cancel();
      if (!response.ok) throw new Error(`Control request failed with status ${response.status}`);
    } catch (error) {
      // The connection cannot be changed in place: open it again with the topics wanted, from
      // where it is (its Last-Event-ID), which misses nothing.
      if (suspended) return; // its connection was closed on purpose; another tab leads
      options.onError(error);
      if (!closed) {
        stream?.close();
        open();
      }
    } finally {
      inFlight = false;
    }
    link.sync();
  };

  const link: Link = {
    sync() {
      if (closed || suspended) return;
      const want = wanted();
      if (want.size === 0) {
        stream?.close();
        stream = undefined;
        return;
      }
      if (stream === undefined) return open();
      if (connection === undefined || inFlight) return;
      const add = [...want].filter((topic) => !subscribed.has(topic) && !adding.has(topic));
      const remove = [...subscribed].filter((topic) => !want.has(topic) && !removing.has(topic));
      if (add.length === 0 && remove.length === 0) return;
      for (const topic of add) adding.add(topic);
      for (const topic of remove) removing.add(topic);
      void control(add, remove);
    },
    start(from, topics) {
      suspended = false;
      lastEventId = from;
      extra = new Set(topics);
      link.sync();
    },
    release() {
      extra = new Set();
      link.sync();
    },
    suspend() {
      suspended = true;
      const current = stream;
      stream = undefined;
      current?.close();
    },
    close() {
      closed = true;
      stream?.close();
    },
  };
  return link;
}

/** How long after a clean end the connection opens again. */
const REOPEN_DELAY_MS = 1_000;

const META: Record<string, true> = { subscribed: true, unsubscribed: true, 'topic-error': true };

// biome-ignore lint/suspicious/noExplicitAny: the hub's own events, whose shapes are known
function parse(data: string): any {
  try {
    return JSON.parse(data);
  } catch {
    return undefined;
  }
}

function headersOf(headers: HeadersInit | undefined): Record<string, string> {
  return Object.fromEntries(new Headers(headers));
}
