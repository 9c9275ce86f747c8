/**
 * The seam between a stream's writer and its contract (ssekit/contract): the server and the hub
 * wrap the writer a producer gets, so that every `send` (and `progress`), and the events a
 * generator yields (the runner sends them through the same `send`), are checked before they are
 * written, and the producer's result before it becomes `done`. Imports nothing: the checks come
 * from the contract entry, through the stream's options.
 * @internal
 */

/** What a contract checks: an outgoing event (returned ready to write), and the result. */
export interface WriterChecks {
  /** The event to write, its data in wire form; throws (or rejects with) the violation. */
  event<Event extends { event?: string | undefined; data?: unknown }>(
    event: Event,
  ): Event | Promise<Event>;
  /** The producer's result, unchanged; throws (or rejects with) the violation. */
  result(value: unknown): unknown;
}

interface Writable {
  send(event: never, options?: never): Promise<void>;
  progress?(progress: never, options?: never): Promise<void>;
}

const noop = () => {};

/**
 * `writer` with checked `send` and `progress`. A check that fails synchronously throws at once,
 * as `send` does for data that cannot be encoded; an asynchronous schema's failure rejects the
 * returned promise. Events keep their order even when some schemas validate asynchronously.
 */
export function checkedWriter<Writer extends Writable>(
  writer: Writer,
  checks: WriterChecks,
): Writer {
  type Send = (event: { event?: string; data?: unknown }, options?: unknown) => Promise<void>;
  const send = writer.send as unknown as Send;
  const progress = writer.progress as unknown as Send | undefined;
  let pending: Promise<void> | undefined; // the last asynchronous check still running

  const checked = (
    write: Send,
    event: { event?: string; data?: unknown },
    options: unknown,
    form: (ready: { event?: string; data?: unknown }) => unknown,
  ): Promise<void> => {
    let sent: Promise<void>;
    if (pending === undefined) {
      const ready = checks.event(event);
      if (typeof (ready as Partial<PromiseLike<unknown>>).then !== 'function') {
        return write(form(ready as typeof event) as typeof event, options);
      }
      sent = Promise.resolve(ready).then((checked) =>
        write(form(checked) as typeof event, options),
      );
    } else {
      sent = pending
        .then(() => checks.event(event))
        .then((checked) => write(form(checked) as typeof event, options));
    }
    const settled = sent.then(noop, noop);
    pending = settled;
    void settled.then(() => {
      if (pending === settled) pending = undefined;
    });
    sent.catch(noop); // an unawaited send never makes an unhandled rejection
    return sent;
  };

  const wrapped = Object.defineProperties({}, Object.getOwnPropertyDescriptors(writer)) as Writer;
  Object.assign(wrapped, {
    send: (event: { event?: string; data?: unknown }, options?: unknown) =>
      checked(send, event, options, (ready) => ready),
    ...(progress && {
      // The writer's own progress() checks `phase` and `fraction` and coalesces; the contract
      // checks the data as the `progress` event's.
      progress: (data: unknown, options?: unknown) =>
        checked(progress, { event: 'progress', data }, options, () => data),
    }),
  });
  return wrapped;
}
