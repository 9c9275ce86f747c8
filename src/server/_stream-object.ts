/**
 * The object a producer writes to (`EventStream`), over its session.
 */
import { encodeEvent } from '../protocol/encode.ts';
import { encodeStreamEvent } from './_encode.ts';
import type { Session } from './_session.ts';
import type { EventStream } from './event-stream.ts';

// Own properties rather than methods, so that a producer may destructure it
// (`async ({ send, signal }) => ...`).
export function createStreamObject(session: Session, lastEventId: string): EventStream {
  const write = (text: string, key?: string) => session.write(text, key);
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
    close: () => session.finish({ kind: 'done', value: undefined }),
    get signal() {
      return session.signal;
    },
    lastEventId,
    get request(): Request {
      if (!session.request) throw new TypeError('This event stream answers no request (a relay).');
      return session.request;
    },
    get bufferedBytes() {
      return session.bufferedBytes;
    },
  };
}
