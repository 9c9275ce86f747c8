/**
 * The idle timeout of a connection: a fixed interval, or `'auto'`, which learns the stream's
 * cadence (tokens, heartbeats) and times out at a multiple of the longest gap it has seen.
 * @internal
 */
import { unrefTimer } from '../_internal/timers.ts';

/** `idleTimeoutMs` as the options take it. */
export type IdleSetting = number | 'auto' | undefined;

/** `'auto'`: the timeout is this many times the longest gap seen between two chunks... */
export const AUTO_IDLE_FACTOR = 4;
/** ...never less than this (a fast stream's short pause is not a stall)... */
export const AUTO_IDLE_MIN_MS = 5_000;
/** ...nor more than this, which is also the wait for the response and its first bytes. */
export const AUTO_IDLE_MAX_MS = 60_000;

/**
 * What a connection learns across its attempts: the longest gap between two chunks of a response
 * (its headers counting as the first: a server that answered fast and stalls is noticed fast too).
 */
export interface IdleLearner {
  /** The timeout for the next wait: `first` is the wait for a response and its first bytes. */
  timeoutMs(first: boolean): number;
  /** Records the gap between two chunks of one response. */
  record(gapMs: number): void;
}

/** A learner for `'auto'`. */
export function createIdleLearner(): IdleLearner {
  let longest = -1;
  return {
    timeoutMs: (first) =>
      first || longest < 0
        ? AUTO_IDLE_MAX_MS
        : Math.min(AUTO_IDLE_MAX_MS, Math.max(AUTO_IDLE_MIN_MS, AUTO_IDLE_FACTOR * longest)),
    record(gapMs) {
      if (gapMs > longest) longest = gapMs;
    },
  };
}

/** The idle timer of one attempt. */
export interface IdleWatch {
  /** The response arrived: its body starts. */
  opened(): void;
  /** A chunk of the body arrived. */
  chunk(): void;
  /** An event was dispatched, or a comment when comments count. */
  activity(): void;
  /** The interval now in force. */
  readonly timeoutMs: number;
  stop(): void;
}

/**
 * Starts the idle timer of an attempt (the wait for the response counts), calling `onIdle` with
 * the interval in force when it fires; `undefined` when there is no idle timeout. With a learner
 * the timeout is `'auto'`: any bytes are life (heartbeats, tokens, even a large event arriving in
 * pieces); with a fixed interval only events (and comments, when they count) are.
 */
export function watchIdle(
  setting: IdleSetting,
  learner: IdleLearner | undefined,
  onIdle: (timeoutMs: number) => void,
): IdleWatch | undefined {
  if (!setting) return undefined;
  const auto = setting === 'auto' ? (learner ?? createIdleLearner()) : undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let timeoutMs = auto ? auto.timeoutMs(true) : (setting as number);
  let last = -1;
  const arm = (ms: number) => {
    clearTimeout(timer);
    timeoutMs = ms;
    unrefTimer((timer = setTimeout(onIdle, ms, ms)));
  };
  arm(timeoutMs);
  return {
    opened() {
      last = Date.now();
      arm(auto ? auto.timeoutMs(true) : timeoutMs);
    },
    chunk() {
      if (!auto) return;
      const now = Date.now();
      if (last >= 0) auto.record(now - last);
      last = now;
      arm(auto.timeoutMs(false));
    },
    activity() {
      if (!auto) arm(timeoutMs);
    },
    get timeoutMs() {
      return timeoutMs;
    },
    stop: () => clearTimeout(timer),
  };
}
