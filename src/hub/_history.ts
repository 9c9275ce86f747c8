/**
 * `hub.history`: the retained events of a topic, the last `limit` of them or those after an id,
 * on any engine (through `range` alone: the last ones are found by reading forward, which costs
 * at most the topic's retention, `retention.maxEvents`).
 */
import { clientEventOf } from './_validate.ts';
import type { HubEngine, LogEntry } from './engine.ts';

/** One retained event of a topic, as a subscriber receives it (`data` as sent: serialized). */
export interface TopicHistoryEvent {
  id: string;
  event?: string;
  data?: string;
}

const BATCH = 1_000;

/** The entries of `key` after `after`, at most `limit`; without `after`, the last `limit`. */
export async function readHistory(
  engine: HubEngine,
  key: string,
  after: string | undefined,
  limit: number,
  onError: (error: unknown) => void,
): Promise<TopicHistoryEvent[]> {
  let entries: LogEntry[];
  if (after !== undefined) {
    entries = await engine.range(key, after, limit);
  } else {
    entries = [];
    let cursor: string | undefined;
    for (;;) {
      const batch = await engine.range(key, cursor, BATCH);
      entries.push(...batch);
      if (entries.length > limit) entries.splice(0, entries.length - limit);
      if (batch.length < BATCH) break;
      cursor = batch[batch.length - 1]!.id;
    }
  }
  const events: TopicHistoryEvent[] = [];
  for (const entry of entries) {
    const event = clientEventOf(entry, entry.id);
    if (event instanceof Error) {
      onError(event); // an entry that cannot be encoded: skipped, as every reader does
      continue;
    }
    const item: TopicHistoryEvent = { id: entry.id };
    if (event.event !== undefined) item.event = event.event;
    if (typeof event.data === 'string') item.data = event.data;
    events.push(item);
  }
  return events;
}
