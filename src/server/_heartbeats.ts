/**
 * One timer for the heartbeats of many streams, rather than one timer per stream: a min-heap of
 * streams by the time their next heartbeat is due. Traffic does not touch the heap; when a
 * stream's turn comes, it beats only if it has been silent for its whole interval, and is put
 * back at the time its silence will be long enough. Every beat comes exactly when it is due, as
 * with a timer per stream.
 *
 * For every stream where the runtime allows it (Node, Deno, Bun: `sharedTimersAllowed`). Not on
 * platforms that tie timers to the request that set them (Cloudflare Workers): there a timer set
 * for one request must not serve the streams of others, and each stream keeps its own.
 */
import { now as clock, setTimer, type Timer } from '../_internal/timers.ts';

/** A stream with a heartbeat. */
export interface Beating {
  /** Its place in the heap; -1 when not in it. */
  heartbeatIndex: number;
  /** When its next beat is due if it stays silent (ms on the scale of `now()`). */
  heartbeatDue(): number;
  /** Its turn came and it is due: it beats, and says when the next one is due. */
  beat(now: number): number;
}

const streams: Beating[] = [];
/** The due time of each entry of `streams`, at the same index. */
const dues: number[] = [];
let timer: Timer | undefined;
let timerDue = 0;
// The `setTimeout` the timer was set with: when fake timers replace it (tests), a timer of the
// previous clock never fires, and the next stream must set one on the new clock.
let timerSetWith: typeof setTimeout | undefined;

/** How many streams the clock beats for (for tests). */
export function heartbeatsScheduled(): number {
  return streams.length;
}

/** Adds a stream whose next beat is due at `due`. */
export function addHeartbeat(stream: Beating, due: number): void {
  stream.heartbeatIndex = streams.length;
  streams.push(stream);
  dues.push(due);
  siftUp(streams.length - 1);
  arm();
}

/** Removes a stream (it ended). */
export function removeHeartbeat(stream: Beating): void {
  const index = stream.heartbeatIndex;
  if (index < 0) return;
  stream.heartbeatIndex = -1;
  const last = streams.pop()!;
  const lastDue = dues.pop()!;
  if (index < streams.length) {
    place(last, lastDue, index);
    siftDown(index);
    siftUp(last.heartbeatIndex);
  }
  if (streams.length === 0 && timer !== undefined) {
    clearTimeout(timer);
    timer = undefined;
  }
}

function arm(): void {
  if (streams.length === 0) return;
  const due = dues[0]!;
  if (timer !== undefined && timerSetWith === setTimeout && timerDue <= due) return;
  if (timer !== undefined) clearTimeout(timer);
  timerDue = due;
  timerSetWith = setTimeout;
  timer = setTimer(tick, Math.max(0, due - clock()), undefined);
}

function tick(): void {
  timer = undefined;
  const now = clock();
  while (streams.length > 0 && dues[0]! <= now) {
    const stream = streams[0]!;
    const due = stream.heartbeatDue();
    // Traffic since it was put in: its turn moves to the end of its new silence.
    const next = due > now ? due : stream.beat(now);
    if (stream.heartbeatIndex !== 0) continue; // beat() ended it, and it left the heap
    dues[0] = next;
    siftDown(0);
  }
  arm();
}

function place(stream: Beating, due: number, index: number): void {
  streams[index] = stream;
  dues[index] = due;
  stream.heartbeatIndex = index;
}

function siftUp(start: number): void {
  let index = start;
  const stream = streams[index]!;
  const due = dues[index]!;
  while (index > 0) {
    const parent = (index - 1) >> 1;
    if (dues[parent]! <= due) break;
    place(streams[parent]!, dues[parent]!, index);
    index = parent;
  }
  place(stream, due, index);
}

function siftDown(start: number): void {
  const length = streams.length;
  if (start >= length) return;
  let index = start;
  const stream = streams[index]!;
  const due = dues[index]!;
  for (;;) {
    let child = 2 * index + 1;
    if (child >= length) break;
    if (child + 1 < length && dues[child + 1]! < dues[child]!) child++;
    if (dues[child]! >= due) break;
    place(streams[child]!, dues[child]!, index);
    index = child;
  }
  place(stream, due, index);
}
