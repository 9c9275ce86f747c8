/**
 * One dispatched server-sent event, as the decoder emits it.
 *
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html#dispatchMessage
 */
export interface ServerSentEvent {
  /** The event type: the last `event:` field of the block, or `"message"` when there was none. */
  type: string;
  /** The `data:` lines of the block joined with LF. */
  data: string;
  /**
   * The stream's last event ID when the event was dispatched. It persists across events, like
   * `EventSource.lastEventId`: an event without an `id:` field carries the previous one.
   */
  id: string;
}

/**
 * What to write: the input of {@link encodeEvent} and of the encoder stream.
 *
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream
 */
export interface EventInput {
  /**
   * The payload. Any CR, LF or CRLF in it starts a new `data:` line; decoding gives it back with
   * every line break as LF.
   */
  data?: string;
  /** The event type (`event:` field). Must not contain CR or LF. */
  event?: string;
  /** The event ID (`id:` field). Must not contain CR, LF or NUL. `""` resets the last event ID. */
  id?: string;
  /** The reconnection time in milliseconds (`retry:` field): a non-negative integer. */
  retry?: number;
  /** A comment line (ignored by clients; used for heartbeats). Line breaks make several lines. */
  comment?: string;
}
