import type { HeadersInput } from '../_internal/http.ts';
import type { ServerSentEvent } from '../protocol/types.ts';
import { BODY, CONNECT, ENDED, runConnection } from './_connection.ts';
import type { FetchLike } from './types.ts';

/** The init of {@link EventSource}: the standard `withCredentials`, plus request options. */
export interface EventSourceInit {
  /** Send cookies and credentials cross-origin (`credentials: 'include'`). @default false */
  withCredentials?: boolean | undefined;
  /** An extension to the standard: the request method. @default 'GET' */
  method?: string | undefined;
  /** An extension to the standard: the request body (resent on every reconnection). */
  body?:
    | string
    | Blob
    | ArrayBuffer
    | Uint8Array<ArrayBuffer>
    | URLSearchParams
    | FormData
    | null
    | undefined;
  /** An extension to the standard: request headers (an `Authorization` header, say). */
  headers?: HeadersInput | undefined;
  /** An extension to the standard: the `fetch` to use. @default globalThis.fetch */
  fetch?: FetchLike | undefined;
  /**
   * An extension to the standard: the reconnection time before the server sets one with `retry:`.
   * @default 3000
   */
  reconnectionTimeMs?: number | undefined;
  /** An extension to the standard: see the parser's `maxEventSize`. @default 16_777_216 */
  maxEventSize?: number | undefined;
}

type Handler = ((this: EventSource, event: Event) => unknown) | null;

const CONNECTING = 0 as const;
const OPEN = 1 as const;
const CLOSED = 2 as const;

/**
 * A WHATWG-compatible `EventSource` built on fetch: a drop-in where code expects one, that also
 * takes `{ method, body, headers, fetch }`, so a POST with a JSON body and an `Authorization`
 * header can be consumed as an EventSource. Reconnection follows the spec, as browsers do: on a
 * network error or the end of the stream it fires `error`, waits the reconnection time and
 * reconnects with `Last-Event-ID`, forever; a status other than 200 or a wrong content type fails
 * it (`error`, then `CLOSED`). It knows no terminal events.
 *
 * That is the browser's behaviour, kept for drop-in use, and it differs from `fetchEventStream`:
 * a stream that ends is requested again (a POST body re-sent, re-running an LLM call when its
 * server sends no ids). For a request that must not run twice, use `fetchEventStream`, which
 * resumes but never re-runs.
 *
 * @example
 * ```ts
 * import { EventSource } from 'ssekit/client';
 *
 * const source = new EventSource('/api/jobs/42/events', { headers: { authorization: `Bearer ${token}` } });
 * source.addEventListener('progress', (event) => console.log(JSON.parse(event.data)));
 * ```
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html#the-eventsource-interface
 */
export class EventSource extends EventTarget {
  static readonly CONNECTING: 0 = CONNECTING;
  static readonly OPEN: 1 = OPEN;
  static readonly CLOSED: 2 = CLOSED;
  readonly CONNECTING: 0 = CONNECTING;
  readonly OPEN: 1 = OPEN;
  readonly CLOSED: 2 = CLOSED;

  readonly #url: string;
  readonly #withCredentials: boolean;
  readonly #controller = new AbortController();
  #readyState: 0 | 1 | 2 = CONNECTING;
  #reconnectionTimeMs: number;
  #origin = '';
  #handlers: Record<
    'open' | 'message' | 'error',
    { handler: Handler; listener: (event: Event) => void } | undefined
  > = { open: undefined, message: undefined, error: undefined };

  constructor(url: string | URL, init: EventSourceInit = {}) {
    super();
    const base = (globalThis as { location?: { href: string } }).location?.href;
    try {
      this.#url = new URL(url, base).href;
    } catch {
      throw new DOMException(
        `EventSource: invalid URL ${JSON.stringify(String(url))}.`,
        'SyntaxError',
      );
    }
    this.#withCredentials = init.withCredentials === true;
    this.#reconnectionTimeMs = init.reconnectionTimeMs ?? 3000;
    const fetchImpl = init.fetch ?? globalThis.fetch?.bind(globalThis);
    if (typeof fetchImpl !== 'function')
      throw new TypeError('EventSource: no global fetch here; pass `fetch`.');
    const request: RequestInit = {
      method: init.method ?? 'GET',
      headers: init.headers ?? {},
      body: init.body ?? null,
      credentials: this.#withCredentials ? 'include' : 'same-origin',
      cache: 'no-store',
      mode: 'cors',
    };
    this.#connect(fetchImpl, request, init.maxEventSize);
  }

  /** The resolved URL. */
  get url(): string {
    return this.#url;
  }
  get withCredentials(): boolean {
    return this.#withCredentials;
  }
  /** 0 (`CONNECTING`), 1 (`OPEN`) or 2 (`CLOSED`). */
  get readyState(): 0 | 1 | 2 {
    return this.#readyState;
  }

  get onopen(): Handler {
    return this.#handlers.open?.handler ?? null;
  }
  set onopen(handler: Handler) {
    this.#setHandler('open', handler);
  }
  get onmessage(): Handler {
    return this.#handlers.message?.handler ?? null;
  }
  set onmessage(handler: Handler) {
    this.#setHandler('message', handler);
  }
  get onerror(): Handler {
    return this.#handlers.error?.handler ?? null;
  }
  set onerror(handler: Handler) {
    this.#setHandler('error', handler);
  }

  /** Closes the connection for good; no `error` event follows. */
  close(): void {
    this.#readyState = CLOSED;
    this.#controller.abort();
  }

  #setHandler(type: 'open' | 'message' | 'error', handler: Handler): void {
    const current = this.#handlers[type];
    if (current) this.removeEventListener(type, current.listener);
    if (typeof handler !== 'function') {
      this.#handlers[type] = undefined;
      return;
    }
    const listener = (event: Event) => handler.call(this, event);
    this.#handlers[type] = { handler, listener };
    this.addEventListener(type, listener);
  }

  #connect(fetch: FetchLike, init: RequestInit, maxEventSize: number | undefined): void {
    const signal = this.#controller.signal;
    runConnection(
      {
        url: this.#url,
        init,
        fetch,
        maxEventSize,
        strict: true, // spec: anything but a 200 text/event-stream response fails the connection
        // Spec: reconnect after a network error or the end of the stream, forever, waiting the
        // reconnection time; fail on anything else. Unlike fetchEventStream, this re-sends a POST
        // whose stream ended (the browser's behaviour, applied to the extension).
        decide: (phase, error) => {
          if (phase !== ENDED && phase !== CONNECT && phase !== BODY) throw error;
          if (this.#readyState !== CLOSED) {
            this.#readyState = CONNECTING;
            this.dispatchEvent(new Event('error'));
          }
          return this.#reconnectionTimeMs;
        },
        onOpen: (response) => {
          if (this.#readyState === CLOSED) return;
          this.#origin = originOf(response.url || this.#url);
          this.#readyState = OPEN;
          this.dispatchEvent(new Event('open'));
        },
        onEvent: (event) => this.#dispatchMessage(event),
        onServerRetry: (retryMs) => {
          this.#reconnectionTimeMs = retryMs;
        },
        lastEventId: '',
        delivered: 0,
        readyState: 'connecting',
      },
      signal,
    ).then(
      () => this.#fail(),
      () => {
        if (!signal.aborted) this.#fail();
      },
    );
  }

  #dispatchMessage(event: ServerSentEvent): void {
    if (this.#readyState === CLOSED) return;
    this.dispatchEvent(createMessageEvent(event, this.#origin));
  }

  // Spec "fail the connection": CLOSED, then one `error` event.
  #fail(): void {
    if (this.#readyState === CLOSED) return;
    this.#readyState = CLOSED;
    this.#controller.abort();
    this.dispatchEvent(new Event('error'));
  }
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '';
  }
}

function createMessageEvent(event: ServerSentEvent, origin: string): Event {
  if (typeof MessageEvent === 'function') {
    return new MessageEvent(event.type, { data: event.data, origin, lastEventId: event.id });
  }
  // Runtimes without MessageEvent: an Event with the same read-only fields.
  const message = new Event(event.type);
  Object.defineProperties(message, {
    data: { value: event.data },
    origin: { value: origin },
    lastEventId: { value: event.id },
  });
  return message;
}
