/**
 * The formats of what reaches the hub from outside: run ids, run event ids, topic names (checked
 * before they touch an engine, where they become parts of keys), and events (checked at the door
 * with the encoder's rules, so that nothing is stored that a reader could not send).
 */
import { serializeEventData } from '../_internal/serialize-event.ts';
import { HubError } from '../errors.ts';
import type { EventStreamEvent } from '../server/types.ts';
import type { LogEntry, StoredEvent } from './engine.ts';

/** A run id: 128 random bits as 22 base64url characters. */
export const RUN_ID: RegExp = /^[A-Za-z0-9_-]{22}$/;

// A run event id: `<runId>.<seq>`, seq a decimal integer without leading zeros (at most 15 digits,
// so it stays a safe integer and a valid Redis stream id).
const RUN_EVENT_ID = /^([A-Za-z0-9_-]{22})\.(0|[1-9]\d{0,14})$/;

/** The run and sequence number of a run event id, or undefined when it is not one. */
export function parseRunEventId(eventId: string): { runId: string; seq: number } | undefined {
  const match = RUN_EVENT_ID.exec(eventId);
  return match ? { runId: match[1]!, seq: Number(match[2]) } : undefined;
}

/** The longest topic name, in UTF-16 code units. */
export const MAX_TOPIC_LENGTH = 256;

// Control characters (C0, DEL, C1) and lone surrogates: never part of a topic name.
const BAD_TOPIC_CHARACTER =
  /[\u0000-\u001f\u007f-\u009f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why `topic` is not a topic name, or undefined when it is one. */
export function topicProblem(topic: string): string | undefined {
  if (topic.length === 0) return 'a topic name must not be empty';
  if (topic.length > MAX_TOPIC_LENGTH) {
    return `a topic name has at most ${MAX_TOPIC_LENGTH} characters, got ${topic.length}`;
  }
  if (BAD_TOPIC_CHARACTER.test(topic)) {
    return 'a topic name must not contain control characters or lone surrogates';
  }
  return undefined;
}

/**
 * What the log stores of a producer's or publisher's event, checked with the encoder's rules:
 * a `TypeError` now (as `createEventStream`'s `send` throws) rather than an entry that every
 * reader fails on later.
 */
export function storedEventOf(event: EventStreamEvent, where: string): StoredEvent {
  if (typeof event !== 'object' || event === null) {
    throw new TypeError(
      `${where}: expected an event object such as { data: 'hello' }, got ${event === null ? 'null' : typeof event}.`,
    );
  }
  const name = event.event;
  if (name !== undefined) {
    if (typeof name !== 'string') {
      throw new TypeError(`${where}: \`event\` must be a string, got ${typeof name}.`);
    }
    if (hasLineBreak(name)) {
      throw new TypeError(
        `${where}: \`event\` must not contain CR or LF (got ${JSON.stringify(name)}); a line break would end the field and corrupt the stream.`,
      );
    }
  }
  const id = event.id;
  // The hub assigns ids, so an id is not stored; one the encoder would refuse is still a bug.
  if (id !== undefined && (hasLineBreak(String(id)) || String(id).includes('\0'))) {
    throw new TypeError(
      `${where}: \`id\` must not contain CR, LF or NUL (got ${JSON.stringify(String(id))}); the hub assigns ids anyway.`,
    );
  }
  const data = serialise(event.data, where);
  const stored: StoredEvent = {};
  if (data !== undefined) stored.data = data;
  if (name !== undefined) stored.event = name;
  return stored;
}

// The one serializer of plain streams and hub runs (no data for `undefined`), with the caller named.
function serialise(data: unknown, where: string): string | undefined {
  try {
    return serializeEventData(data);
  } catch (error) {
    const detail = error instanceof Error ? error.message.replace(/^send: /, '') : String(error);
    throw new TypeError(`${where}: ${detail}`, { cause: error });
  }
}

/**
 * A stored entry as the event a client receives, or a `HubError` `invalid-entry` when it cannot
 * be encoded (written by an older version, or by hand): readers skip it and report it, rather
 * than fail on it at every resume.
 */
export function clientEventOf(entry: LogEntry, id: string): EventStreamEvent | HubError {
  const name = entry.event.event;
  const data = entry.event.data;
  if (
    (data !== undefined && typeof data !== 'string') ||
    (name !== undefined && (typeof name !== 'string' || hasLineBreak(name)))
  ) {
    return new HubError(
      'invalid-entry',
      `The stored entry ${entry.id} cannot be encoded (event ${JSON.stringify(name)}); it is skipped.`,
    );
  }
  const event: EventStreamEvent = { id };
  if (data !== undefined) event.data = data;
  if (name !== undefined) event.event = name;
  return event;
}

/** `done` and `error` end a run. */
export function isTerminal(event: StoredEvent): boolean {
  return event.event === 'done' || event.event === 'error';
}

function hasLineBreak(value: string): boolean {
  return value.includes('\n') || value.includes('\r');
}
