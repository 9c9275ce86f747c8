/**
 * The bytes of the entries a topic's subscribers are catching up on, encoded once and shared:
 * after a reconnect storm thousands of subscribers replay the same entries (read once, see
 * src/hub/_shared-reads.ts), and each one encoding each entry for itself cost most of the
 * replay's time and an array of bytes per subscriber and entry in their queues.
 *
 * Kept only while a catch-up runs on the topic (a topic whose subscribers are all live holds
 * none), and {@link MAX_REPLAYED_BYTES} at most, the oldest entry going first. Keyed by entry id:
 * an id names one entry of a log for good (it is what a resume asks for).
 * @internal
 */
import type { HubError } from '../errors.ts';
import type { LogEntry } from './engine.ts';

/** The most bytes a topic keeps for its catching-up subscribers. */
export const MAX_REPLAYED_BYTES = 1_048_576;

export class ReplayedBytes {
  readonly #encode: (entry: LogEntry) => Uint8Array | HubError;
  #bytes: Map<string, Uint8Array> | undefined;
  #size = 0;
  #catchUps = 0;

  constructor(encode: (entry: LogEntry) => Uint8Array | HubError) {
    this.#encode = encode;
  }

  /** A catch-up starts: entries it takes are kept for the others until the last one ends. */
  started(): void {
    this.#catchUps++;
  }

  /** A catch-up ended (caught up, or its subscriber left): the last one drops the bytes. */
  ended(): void {
    if (--this.#catchUps > 0) return;
    this.#bytes = undefined;
    this.#size = 0;
  }

  /** The bytes of `entry` (or why it cannot be encoded), encoded at the first that asks. */
  of(entry: LogEntry): Uint8Array | HubError {
    const kept = this.#bytes?.get(entry.id);
    if (kept !== undefined) return kept;
    const encoded = this.#encode(entry);
    if (!(encoded instanceof Uint8Array) || this.#catchUps === 0) return encoded;
    if (encoded.byteLength > MAX_REPLAYED_BYTES) return encoded; // keeping it would leave no room
    const bytes = (this.#bytes ??= new Map());
    bytes.set(entry.id, encoded);
    this.#size += encoded.byteLength;
    for (const [id, oldest] of bytes) {
      if (this.#size <= MAX_REPLAYED_BYTES) break;
      bytes.delete(id);
      this.#size -= oldest.byteLength;
    }
    return encoded;
  }
}
