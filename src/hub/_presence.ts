/**
 * Presence: how many connections follow a topic, and who, across every instance, on any engine.
 * Each instance appends a snapshot of its own members of a topic to the topic's presence log
 * (`presence:<topic key>`) when they change (changes made while a write is in flight go out in
 * the next one) and again every third of `ttlMs`; a reader sums the latest snapshot of each
 * instance written within `ttlMs`. An instance that dies drops out after `ttlMs` at most. Uses
 * only logs (append, range, retention by age), so every engine that meets the contract has it.
 */
import { unrefTimer } from '../_internal/timers.ts';
import { randomRunId } from './_run-ids.ts';
import type { TopicMember } from './_topics.ts';
import type { HubEngine } from './engine.ts';

/** Who follows a topic: `count` connections, and the distinct `members` among them. */
export interface TopicPresence {
  /** Connections subscribed to the topic, on every instance. */
  count: number;
  /** The distinct `member` names of those connections (anonymous ones are only counted). */
  members: string[];
}

interface Snapshot {
  instance: string;
  count: number;
  /** Each member name with its number of connections (pairs: a name may be `__proto__`). */
  members: Array<[string, number]>;
}

const READ_BATCH = 1_000;

export class Presence {
  readonly #engine: HubEngine;
  readonly #ttlMs: number;
  readonly #onError: (error: unknown) => void;
  readonly #local = new Map<string, ReadonlySet<TopicMember>>();
  readonly #dirty = new Set<string>();
  #instance: string | undefined;
  #writing: Promise<void> | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  constructor(engine: HubEngine, ttlMs: number, onError: (error: unknown) => void) {
    this.#engine = engine;
    this.#ttlMs = ttlMs;
    this.#onError = onError;
  }

  /** A topic's local members changed. */
  changed(key: string, members: ReadonlySet<TopicMember>): void {
    if (this.#closed) return;
    if (members.size > 0) this.#local.set(key, members);
    else this.#local.delete(key);
    this.#dirty.add(key);
    this.#renewals();
    this.#flush();
  }

  /** The presence of the topic of `key`, on every instance. */
  async read(key: string): Promise<TopicPresence> {
    const latest = new Map<string, Snapshot>();
    let after: string | undefined = `${Math.max(0, Date.now() - this.#ttlMs)}-0`;
    for (;;) {
      const entries = await this.#engine.range(presenceKey(key), after, READ_BATCH);
      for (const entry of entries) {
        try {
          const snapshot = JSON.parse(entry.event.data ?? '') as Snapshot;
          latest.set(snapshot.instance, snapshot);
        } catch (error) {
          this.#onError(error);
        }
      }
      if (entries.length < READ_BATCH) break;
      after = entries[entries.length - 1]!.id;
    }
    let count = 0;
    const members = new Set<string>();
    for (const snapshot of latest.values()) {
      count += snapshot.count;
      for (const [name] of snapshot.members) members.add(name);
    }
    return { count, members: [...members].sort() };
  }

  /** Stops renewing; tells the other instances this one's members left. */
  async close(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    for (const key of this.#local.keys()) this.#dirty.add(key);
    this.#local.clear();
    this.#flush();
    await this.#writing;
    this.#closed = true;
  }

  #renewals(): void {
    if (this.#local.size === 0) {
      if (this.#timer !== undefined) clearInterval(this.#timer);
      this.#timer = undefined;
      return;
    }
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(
      () => {
        for (const key of this.#local.keys()) this.#dirty.add(key);
        this.#flush();
      },
      Math.max(1, Math.floor(this.#ttlMs / 3)),
    );
    unrefTimer(this.#timer);
  }

  // One write at a time; what changed meanwhile goes in the next.
  #flush(): void {
    if (this.#writing !== undefined || this.#dirty.size === 0) return;
    this.#writing = (async () => {
      while (this.#dirty.size > 0) {
        const keys = [...this.#dirty];
        this.#dirty.clear();
        await Promise.all(keys.map((key) => this.#write(key)));
      }
    })().finally(() => {
      this.#writing = undefined;
    });
  }

  async #write(key: string): Promise<void> {
    this.#instance ??= randomRunId();
    const names = new Map<string, number>();
    let count = 0;
    for (const member of this.#local.get(key) ?? []) {
      count++;
      const name = member.memberName();
      if (name !== undefined) names.set(name, (names.get(name) ?? 0) + 1);
    }
    const snapshot: Snapshot = { instance: this.#instance, count, members: [...names] };
    try {
      await this.#engine.append(
        presenceKey(key),
        { event: 'presence', data: JSON.stringify(snapshot) },
        { maxAgeMs: this.#ttlMs, ttlMs: this.#ttlMs },
      );
    } catch (error) {
      this.#onError(error);
    }
  }
}

function presenceKey(key: string): string {
  return `presence:${key}`;
}
