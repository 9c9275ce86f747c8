/**
 * The object a producer writes to (`EventStreamWriter`), over what runs the stream.
 */
import { encodeStreamEvent } from '../_internal/serialize-event.ts';
import { encodeEvent } from '../protocol/encode.ts';
import type { EventStreamWriter } from './types.ts';

/** What the writer needs of the stream behind it (the session). */
export interface StreamSink {
  /** Queues encoded text: resolves when there is room, rejects once the stream is over. */
  write(text: string, key?: string): Promise<void>;
  /** Ends the producing phase, as if the producer had returned. */
  finish(outcome: { kind: 'done'; value: undefined }): void;
  readonly signal: AbortSignal;
  readonly request: Request | undefined;
  readonly bufferedBytes: number;
}

// Own properties rather than methods, so that a producer may destructure it
// (`async ({ send, signal }) => ...`).
export function createStreamObject(sink: StreamSink, lastEventId: string): EventStreamWriter {
  const write = (text: string, key?: string) => sink.write(text, key);
  return {
    send: (event, sendOptions) => write(encodeStreamEvent(event), sendOptions?.coalesce),
    comment: (text = '') => write(encodeEvent({ comment: text })),
    progress(progress, progressOptions) {
      const { phase, fraction } = progress ?? {};
      if (typeof phase !== 'string') {
        throw new TypeError(`progress: phase must be a string, got ${typeof phase}.`);
      }
      if (
        fraction !== undefined &&
        !(typeof fraction === 'number' && fraction >= 0 && fraction <= 1)
      ) {
        throw new TypeError(
          `progress: fraction must be a number from 0 to 1, got ${String(fraction)}.`,
        );
      }
      const key = progressOptions?.coalesce ?? 'progress';
      const text = encodeStreamEvent({ event: 'progress', data: progress });
      return write(text, key === false ? undefined : key);
    },
    close: () => sink.finish({ kind: 'done', value: undefined }),
    get signal() {
      return sink.signal;
    },
    lastEventId,
    get request(): Request {
      if (!sink.request) throw new TypeError('This event stream answers no request (a relay).');
      return sink.request;
    },
    get bufferedBytes() {
      return sink.bufferedBytes;
    },
  };
}
