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
 *
 * A leader whose main thread hangs (a busy loop: no `freeze`, no `pagehide`) would hold the lock
 * forever, so the leader beats on the channel every `heartbeatMs`; a follower that hears nothing
 * for `MISSED_BEATS` beats asks (`ping`), and when nothing answers within one more beat (plus
 * jitter, so that followers do not all do it at once) it steals the lock and leads from its own
 * last event id. The hung tab, once it runs again, finds its lock stolen and follows. Until then
 * its connection may still deliver: each tab, leader or not, takes the events of every tab that
 * forwards them and keeps each topic's next one, so two overlapping leaders (both streams run in
 * order from the same position) give every event once.
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

/** Beats a follower misses before it asks whether the leader still runs. */
const MISSED_BEATS = 4;

export interface TabsOptions {
  name: string;
  share: boolean;
  /** How often the leader beats (see the module comment). */
  heartbeatMs: number;
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
  | { type: 'who' }
  | { type: 'beat' }
  | { type: 'ping' };

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

  const { heartbeatMs } = options;
  let beats: ReturnType<typeof setInterval> | undefined; // the leader's
  let watchdog: ReturnType<typeof setTimeout> | undefined; // a follower's
  let heardAt = Date.now(); // when this follower last heard the leader
  let queued: AbortController | undefined; // this tab's place in the lock's queue
  const beat = () => post({ type: 'beat' });

  // A follower checks that the leader runs: silent for MISSED_BEATS beats, it asks; silent for
  // one more beat (and jitter), it takes over. Asking first matters: the silence may be this
  // tab's own (a busy loop here), with the leader's beats waiting in its queue.
  const watch = (): void => {
    clearTimeout(watchdog);
    if (role !== 'follower') return;
    const waited = Date.now() - heardAt;
    if (waited < heartbeatMs * MISSED_BEATS) {
      watchdog = setTimeout(watch, heartbeatMs * MISSED_BEATS - waited);
      return;
    }
    const askedAt = Date.now();
    post({ type: 'ping' });
    watchdog = setTimeout(
      () => (heardAt >= askedAt ? watch() : role === 'follower' && campaign(true)),
      heartbeatMs * (1 + Math.random()),
    );
  };

  channel.onmessage = ({ data }: MessageEvent<Message>) => {
    if (data.type === 'event' || data.type === 'beat') {
      heardAt = Date.now();
      // A leader takes them too: another tab leads already (it found this one silent).
      if (data.type === 'event') options.receive(data.event);
    } else if (data.type === 'ping') {
      if (role === 'leader') beat();
    } else if (data.type === 'who') {
      if (role === 'follower') announce();
    } else if (role === 'leader') {
      if (data.type === 'want') {
        others.set(data.tab, data.topics);
        // A tab that comes late learns which topics are live already (its `ready`), and the
        // connection's position: should it lead before any event reaches it, it resumes from
        // there (not from now, which would lose what was published meanwhile).
        const topics = [...options.live()];
        post({
          type: 'event',
          event: {
            type: 'subscribed',
            data: JSON.stringify({ topics }),
            id: options.lastEventId(),
          },
        });
      } else {
        others.delete(data.tab);
      }
      link?.sync();
    }
  };
  globalThis.addEventListener?.('pagehide', bye);

  // Leads while it holds the lock: until the tab closes, or freezes (a background tab the
  // browser suspends would hold the connection and starve every other tab), then asks again;
  // or until a follower steals the lock from it (it had hung).
  const lead = (): Promise<void> | undefined => {
    if (abort.signal.aborted) return;
    role = 'leader';
    clearTimeout(watchdog);
    beats = setInterval(beat, heartbeatMs);
    beat();
    post({ type: 'who' });
    link = options.lead(topicsOf(options.lastEventId()));
    grace = setTimeout(() => link?.release(), HANDOFF_GRACE_MS);
    return new Promise<void>((resolve) => {
      release = resolve;
    });
  };
  const campaign = (steal = false): void => {
    queued?.abort();
    let leading = false;
    const granted = () => {
      leading = true;
      return lead();
    };
    // A steal takes no signal (the Web Locks API refuses both): close() releases it.
    const request = steal
      ? locks.request(options.name, { steal: true }, granted)
      : locks.request(options.name, { signal: (queued = new AbortController()).signal }, granted);
    request.catch(() => {
      // An abort while queued (close(), or this tab stole the lock) is not an error; a lock
      // stolen while this tab led means another tab found it silent: it follows now.
      if (leading && release !== undefined) stepDown();
    });
  };
  const stepDown = () => {
    if (role !== 'leader') return;
    role = 'follower';
    clearTimeout(grace);
    clearInterval(beats);
    link?.suspend();
    release?.();
    release = undefined;
    others.clear();
    heardAt = Date.now();
    announce();
    campaign();
    watch();
  };
  const document = (globalThis as { document?: EventTarget }).document;
  document?.addEventListener('freeze', stepDown);
  campaign();
  announce();
  watch();

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
      clearTimeout(watchdog);
      clearInterval(beats);
      bye();
      abort.abort();
      queued?.abort();
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
