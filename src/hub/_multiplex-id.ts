/**
 * The event ids of a multiplexed subscription (several topics on one connection): every id holds
 * the position of every topic of the connection, so the `Last-Event-ID` of the last event a
 * client received, alone, resumes each topic exactly where it was.
 *
 * `<entry>,<entry>,...`, the first entry being the topic the event belongs to, each entry
 * `<name>=<cursor>`: the topic name percent-encoded (`encodeURIComponent`, so `,` and `=` never
 * appear in it) and its last id delivered (`<ms>-<seq>`), or nothing when its log was empty at
 * subscription (then a resume replays it from its start). Checked strictly: a malformed id is a
 * `400`, never a guess.
 */

import { topicProblem } from './_validate.ts';
import { compareIds, isLogId } from './engine.ts';

/** The cursors of a connection's topics, in subscription order (`undefined`: from the start). */
export type Cursors = Map<string, string | undefined>;

const ENTRY = /^([A-Za-z0-9\-_.!~*'()%]+)=((?:\d{1,16}-\d{1,16})?)$/;

/** The id of an event of `topic`, given every topic's cursor (`topic`'s included). */
export function formatMultiplexId(topic: string, cursors: Cursors): string {
  let id = entry(topic, cursors.get(topic));
  for (const [name, cursor] of cursors) if (name !== topic) id += `,${entry(name, cursor)}`;
  return id;
}

function entry(topic: string, cursor: string | undefined): string {
  return `${encodeURIComponent(topic)}=${cursor ?? ''}`;
}

/**
 * The cursors an id holds, or a string saying why it is not the id of a multiplexed subscription.
 * `maxTopics` bounds the work done on a header a client chose.
 */
export function parseMultiplexId(id: string, maxTopics: number): Cursors | string {
  const cursors: Cursors = new Map();
  const entries = id.split(',');
  if (entries.length > maxTopics)
    return `it names ${entries.length} topics, more than ${maxTopics}`;
  for (const text of entries) {
    const match = ENTRY.exec(text);
    if (!match) return `${JSON.stringify(text.slice(0, 64))} is not <topic>=<ms>-<seq>`;
    let topic: string;
    try {
      topic = decodeURIComponent(match[1]!);
    } catch {
      return `${JSON.stringify(match[1]!.slice(0, 64))} is not percent-encoded UTF-8`;
    }
    const problem = topicProblem(topic);
    if (problem !== undefined) return problem;
    if (cursors.has(topic)) return `it names the topic ${JSON.stringify(topic)} twice`;
    const cursor = match[2]!;
    if (cursor !== '' && !isLogId(cursor)) return `${JSON.stringify(cursor)} is not <ms>-<seq>`;
    cursors.set(topic, cursor === '' ? undefined : cursor);
  }
  return cursors;
}

/** The topic an event id of a multiplexed subscription belongs to (its first entry). */
export function topicOfMultiplexId(id: string): string | undefined {
  const match = ENTRY.exec(id.slice(0, id.includes(',') ? id.indexOf(',') : id.length));
  if (!match) return undefined;
  try {
    return decodeURIComponent(match[1]!);
  } catch {
    return undefined;
  }
}

/** The later of two cursors. */
export function laterCursor(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return compareIds(a, b) >= 0 ? a : b;
}
