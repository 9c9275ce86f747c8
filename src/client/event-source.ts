import type { HeadersInput } from '../_internal/http.ts';
import type { ServerSentEvent } from '../protocol/types.ts';
import { BODY, CONNECT, type Connection, ENDED, runConnection } from './_connection.ts';
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

/** What a futile fetch throws: the connection fails instead of being reestablished. */
const FUTILE = Symbol();

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
  // On the prototype (below), as WebIDL puts constants: not own properties of each instance.
  declare readonly CONNECTING: 0;
  declare readonly OPEN: 1;
  declare readonly CLOSED: 2;

  readonly #url: string;
  readonly #withCredentials: boolean;
  readonly #controller = new AbortController();
  #readyState: 0 | 1 | 2 = CONNECTING;
  #reconnectionTimeMs: number;
  #origin = '';
  #handlers: Partial<
    Record<
      'open' | 'message' | 'error',
      { handler: Handler; listener: (event: Event) => void } | undefined
    >
  > = {};

  constructor(url: string | URL, init: EventSourceInit | null = {}) {
    super();
    init ??= {}; // WebIDL: a null dictionary is the defaults
    const base = (globalThis as { location?: { href: string } }).location?.href;
    try {
      this.#url = new URL(url, base).href;
    } catch {
      throw new DOMException(
        `EventSource: invalid URL ${JSON.stringify(String(url))}.`,
        'SyntaxError',
      );
    }
    this.#withCredentials = !!init.withCredentials; // WebIDL boolean
    this.#reconnectionTimeMs = init.reconnectionTimeMs ?? 3000;
    const fetchImpl = init.fetch ?? globalThis.fetch?.bind(globalThis);
    if (typeof fetchImpl !== 'function')
      throw new TypeError('EventSource: no global fetch here; pass `fetch`.');
    const credentials = this.#withCredentials ? 'include' : 'same-origin';
    const request: RequestInit = {
      method: init.method ?? 'GET',
      headers: init.headers ?? {},
      body: init.body ?? null,
      credentials,
      cache: 'no-store',
      mode: 'cors',
    };
    // Spec: a network error reestablishes the connection "unless the user agent knows that to be
    // futile", and browsers fail it for a scheme fetch cannot load and for a response the CORS
    // check refused. A fetch rejects alike for a refused CORS check and for the network, so a
    // no-cors HEAD asks whether the server answers at all: when it does, CORS refused it.
    const fetchOrFutile: FetchLike = async (input, options) => {
      const target = new URL(String(input));
      if (!/^(?:https?|data|blob):$/.test(target.protocol)) throw FUTILE;
      try {
        return await fetchImpl(input, options);
      } catch (error) {
        const signal = options?.signal ?? null;
        if (
          base !== undefined &&
          target.origin !== new URL(base).origin &&
          !signal?.aborted &&
          (await fetchImpl(input, { method: 'HEAD', mode: 'no-cors', credentials, signal }).then(
            () => true,
            () => false,
          ))
        )
          throw FUTILE;
        throw error;
      }
    };
    this.#connect(fetchOrFutile, request, init.maxEventSize);
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

  // HTML "event handler" semantics: one listener per handler, added when it is first set (its
  // place among the listeners), kept while it changes, removed by null. A non-object is null.
  #setHandler(type: 'open' | 'message' | 'error', handler: Handler): void {
    const current = this.#handlers[type];
    if (handler === null || (typeof handler !== 'function' && typeof handler !== 'object')) {
      if (current) this.removeEventListener(type, current.listener);
      this.#handlers[type] = undefined;
    } else if (current) current.handler = handler;
    else {
      const entry = { handler, listener: (event: Event) => entry.handler?.call(this, event) };
      this.#handlers[type] = entry;
      this.addEventListener(type, entry.listener);
    }
  }

  #connect(fetch: FetchLike, init: RequestInit, maxEventSize: number | undefined): void {
    const signal = this.#controller.signal;
    const connection: Connection = {
      url: this.#url,
      init,
      fetch,
      maxEventSize,
      strict: true, // spec: anything but a 200 text/event-stream response fails the connection
      // Spec: reconnect after a network error or the end of the stream, forever, waiting the
      // reconnection time; fail on anything else. Unlike fetchEventStream, this re-sends a POST
      // whose stream ended (the browser's behaviour, applied to the extension).
      decide: (phase, error) => {
        if ((phase !== ENDED && phase !== CONNECT && phase !== BODY) || error === FUTILE)
          throw error;
        if (this.#readyState !== CLOSED) {
          this.#readyState = CONNECTING;
          this.dispatchEvent(new Event('error'));
        }
        return this.#reconnectionTimeMs;
      },
      onOpen: (response) => {
        if (this.#readyState === CLOSED) return;
        // The request followed its redirects: reconnections go where it ended (spec: the same
        // request is fetched again, and its URL is the last of its URL list), as in Chromium.
        if (response.redirected) connection.url = response.url;
        this.#origin = new URL(response.url || this.#url).origin; // both absolute URLs
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
    };
    runConnection(connection, signal).then(
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

// WebIDL: the constants, enumerable and read-only, and the class string `[object EventSource]`.
for (const [value, name] of ['CONNECTING', 'OPEN', 'CLOSED', Symbol.toStringTag].entries())
  Object.defineProperty(EventSource.prototype, name, {
    value: value > 2 ? 'EventSource' : value,
    enumerable: value < 3,
    configurable: value > 2,
  });

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
