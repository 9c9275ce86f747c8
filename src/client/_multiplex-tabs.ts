/**
 * One connection for every tab of an origin. The tab that holds a Web Lock (named after the
 * endpoint) is the leader: it holds the connection for the topics every tab wants, and posts each
 * event on a BroadcastChannel; the other tabs say what they want on the channel and take the
 * leader's events. When the leader tab closes (or freezes: it then steps down and queues for the
 * lock again), the browser releases its lock, the next tab in
 * the lock's queue leads: it opens the connection from the `Last-Event-ID` of the last event it
 * received, whose positions cover every topic of the old connection, so no event is lost; tabs
 * skip what they have seen (each topic's position), so none arrives twice. Without Web Locks or
 * BroadcastChannel, each tab has its own connection.
 */
import type { ServerSentEvent } from '../protocol/types.ts';
import type { Link } from './_multiplex-link.ts';

/** `leader`: this tab holds the shared connection; `follower`: another tab does; `alone`: not shared. */
export type TabRole = 'leader' | 'follower' | 'alone';

/**
 * How long a new leader keeps the topics of the old connection that no tab has claimed yet:
 * the other tabs say what they want within a few milliseconds of its call.
 */
const HANDOFF_GRACE_MS = 1_000;

export interface TabsOptions {
  name: string;
  share: boolean;
  /** What this tab wants. */
  want(): ReadonlySet<string>;
  /** An event, from the leader tab. */
  receive(event: ServerSentEvent): void;
  /** Becomes the leader: the connection, opened with these topics kept (see `Link.start`). */
  lead(topics: Iterable<string>): Link;
  lastEventId(): string;
  /** The topics the connection has (the leader's). */
  live(): Iterable<string>;
}

export interface Tabs {
  readonly role: TabRole;
  /** What every tab wants (the leader's link asks). */
  want(): ReadonlySet<string>;
  /** What this tab wants changed. */
  changed(): void;
  /** Posts an event of the leader's connection to the other tabs. */
  forward(event: ServerSentEvent): void;
  close(): void;
}

type Message =
  | { type: 'event'; event: ServerSentEvent }
  | { type: 'want'; tab: string; topics: string[] }
  | { type: 'bye'; tab: string }
  | { type: 'who' };

export function shareAcrossTabs(options: TabsOptions): Tabs {
  const locks = (globalThis.navigator as { locks?: LockManager } | undefined)?.locks;
  if (!options.share || typeof BroadcastChannel !== 'function' || locks === undefined) {
    return alone(options);
  }
  const tab = Math.random().toString(36).slice(2) + Date.now().toString(36);
  const channel = new BroadcastChannel(options.name);
  const others = new Map<string, string[]>();
  const abort = new AbortController();
  let role: TabRole = 'follower';
  let link: Link | undefined;
  let release: (() => void) | undefined;
  let grace: ReturnType<typeof setTimeout> | undefined;
  const post = (message: Message) => channel.postMessage(message);
  const announce = () => post({ type: 'want', tab, topics: [...options.want()] });
  const bye = () => post({ type: 'bye', tab });

  channel.onmessage = ({ data }: MessageEvent<Message>) => {
    if (data.type === 'event') {
      if (role === 'follower') options.receive(data.event);
    } else if (data.type === 'who') {
      if (role === 'follower') announce();
    } else if (role === 'leader') {
      if (data.type === 'want') {
        others.set(data.tab, data.topics);
        // A tab that comes late learns which topics are live already (its `ready`).
        const topics = [...options.live()];
        post({
          type: 'event',
          event: { type: 'subscribed', data: JSON.stringify({ topics }), id: '' },
        });
      } else {
        others.delete(data.tab);
      }
      link?.sync();
    }
  };
  globalThis.addEventListener?.('pagehide', bye);

  // Leads while it holds the lock: until the tab closes, or freezes (a background tab the
  // browser suspends would hold the connection and starve every other tab), then asks again.
  const campaign = () => {
    locks
      .request(options.name, { signal: abort.signal }, () => {
        if (abort.signal.aborted) return;
        role = 'leader';
        post({ type: 'who' });
        link = options.lead(topicsOf(options.lastEventId()));
        grace = setTimeout(() => link?.release(), HANDOFF_GRACE_MS);
        return new Promise<void>((resolve) => {
          release = resolve;
        });
      })
      .catch(() => {}); // aborted by close() while waiting: not an error
  };
  const stepDown = () => {
    if (role !== 'leader') return;
    role = 'follower';
    clearTimeout(grace);
    link?.suspend();
    release?.();
    release = undefined;
    others.clear();
    announce();
    campaign();
  };
  const document = (globalThis as { document?: EventTarget }).document;
  document?.addEventListener('freeze', stepDown);
  campaign();
  announce();

  return {
    get role() {
      return role;
    },
    want() {
      const topics = new Set(options.want());
      for (const wanted of others.values()) for (const topic of wanted) topics.add(topic);
      return topics;
    },
    changed() {
      if (role === 'leader') link?.sync();
      else announce();
    },
    forward: (event) => post({ type: 'event', event }),
    close() {
      clearTimeout(grace);
      bye();
      abort.abort();
      release?.();
      globalThis.removeEventListener?.('pagehide', bye);
      document?.removeEventListener('freeze', stepDown);
      channel.close();
      role = 'alone';
    },
  };
}

function alone(options: TabsOptions): Tabs {
  let link: Link | undefined;
  return {
    role: 'alone',
    want: options.want,
    changed() {
      if (link) link.sync();
      else link = options.lead([]);
    },
    forward() {},
    close() {},
  };
}

/** The topics an event id of a multiplexed connection holds a position of. */
function topicsOf(id: string): string[] {
  if (id === '') return [];
  const topics: string[] = [];
  for (const entry of id.split(',')) {
    try {
      topics.push(decodeURIComponent(entry.slice(0, entry.indexOf('='))));
    } catch {
      // not an id of ours: nothing to keep
    }
  }
  return topics;
}
