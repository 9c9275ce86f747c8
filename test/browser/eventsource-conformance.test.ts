/**
 * Differential conformance: every scenario of the table below runs through Chromium's native
 * `EventSource` and ssekit's, side by side in one page, against the same real server. The two
 * full logs must be equal: every event dispatched (type, data, lastEventId, origin, the
 * readyState at that moment, MessageEvent or plain Event), and every request the server saw
 * (method, path, Last-Event-ID, Accept, Cache-Control, Pragma, Origin, cookie), which shows the
 * reconnection behaviour. Most scenarios also pin the log the WHATWG HTML "Server-sent events"
 * section prescribes (`expected`), so that a change in Chromium cannot quietly move the target;
 * where Chromium departs from the spec, or where a fetch-based EventSource cannot do what the
 * browser's own does, the scenario says so (`divergence`) and what each side does.
 *
 * The same scenarios go through the fetch client (`fetchEventStream`, one response, in the page)
 * and the parser (`createParser` in Node, fed the bytes the server wrote, whole, byte by byte and
 * in random chunks): their events must be the native EventSource's events of the first response.
 *
 * The server sends `retry: 20` where reconnection matters, and answers 204 once a scenario's
 * responses are used up, which fails both EventSources: every run ends by itself, and every wait
 * is bounded.
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createParser } from '../../src/protocol/parser.ts';
import type { ServerSentEvent } from '../../src/protocol/types.ts';
import { bundleForBrowser, launchBrowser } from '../helpers/browser.ts';
import { byteByByte, chunkings, concatBytes, whole } from '../helpers/chunking.ts';
import { startServer, type TestServer } from '../helpers/http-server.ts';

/** A piece of a response: text or bytes to write, or a pause in milliseconds before the next. */
type Part = string | Uint8Array | number;

interface Reply {
  /** A pause before the response head (the client is still connecting). */
  delayMs?: number;
  status?: number;
  headers?: Record<string, string | string[]>;
  /** What to write, in order; pauses flush what came before as its own network write. */
  body?: Part[];
  /** How the response ends: `end` (default), `hold` (open until the client leaves), `destroy`. */
  ending?: 'end' | 'hold' | 'destroy';
}

/** How the page drives a source (serializable: it crosses into the page). */
interface ClientPlan {
  /** Event types listened to besides open, message and error. */
  types?: string[];
  /** Close inside the first `message` listener. */
  closeOnFirstMessage?: boolean;
  /** Close inside the n-th `error` listener. */
  closeOnError?: number;
  /** Close once the server has seen this many requests (polled), e.g. while still connecting. */
  closeAfterRequests?: number;
  /** After the n-th error, wait `ms`, then close (a reconnection that must not happen). */
  closeAfterErrorWait?: { errors: number; ms: number };
  /** `new EventSource(url, { withCredentials: true })`. */
  withCredentials?: boolean;
  /** Cross-origin: the URL's host is `localhost` (the page is on 127.0.0.1). */
  crossOrigin?: boolean;
  /** The URL as given, instead of the scenario's path. */
  rawUrl?: string;
  /** Close after this many error events (a source that would reconnect forever). */
  maxErrors?: number;
}

interface Scenario {
  name: string;
  /** The replies, one per request (OPTIONS preflights aside); then 204. */
  replies?: Reply[];
  /** A redirect's target (path `/s/NAME/target`): replies per request to it. */
  target?: Reply[];
  client?: ClientPlan;
  /** The spec's log: events, then `requests` as `METHOD path lei` (`-`: no Last-Event-ID). */
  expected?: { events: string[]; requests?: string[] };
  /**
   * Where the two differ on purpose: why, and what each logs. Both logs are still pinned
   * exactly, so that a change on either side fails the test.
   */
  divergence?: {
    why: string;
    native: { events: string[]; requests?: string[] };
    ours: { events: string[]; requests?: string[] };
  };
  /** The events the fetch client and the parser give for the first response; default: derived. */
  parserEvents?: string[];
  /** Skip the fetch-client and parser comparison (no event stream in the first reply). */
  noParser?: boolean;
}

const ES = { 'content-type': 'text/event-stream' };

/**
 * A response the CORS check refuses: Chromium fails the connection (WPT eventsource-cross-origin
 * expects CLOSED at the first error), which the spec allows for a network error "known to be
 * futile". A fetch rejects alike for CORS and the network, so ssekit asks with a no-cors HEAD
 * whether the server answers at all; the events match, and the server sees that HEAD.
 */
const PROBE_DIVERGENCE: Scenario['divergence'] = {
  why: 'a no-cors HEAD tells a refused CORS check from a network error',
  native: { events: ['error 2'], requests: ['GET / -'] },
  ours: { events: ['error 2'], requests: ['GET / -', 'HEAD / -'] },
};
const R = 'retry: 20\n\n';
const bytes = (...values: number[]) => new Uint8Array(values);
const utf8 = (text: string) => new TextEncoder().encode(text);
/** A reply of an event stream with these parts. */
const es = (...body: Part[]): Reply => ({ headers: ES, body });

/**
 * The table. Event lines: `open 1`, `error 0` (readyState after the colon-less name), and for
 * MessageEvents `TYPE "data" #lastEventId` (JSON-quoted data; readyState added as ` rs=N` when
 * not OPEN, origin as ` @ORIGIN` when not the page's). Request lines: `METHOD PATH LEI` with
 * `-` for no Last-Event-ID.
 */
const SCENARIOS: Scenario[] = [
  // --- Line endings and the BOM ---
  {
    name: 'lf',
    replies: [es(`${R}data: a\n\ndata: b\nid: 1\n\n`)],
    expected: {
      events: ['open 1', 'message "a" #', 'message "b" #1', 'error 0', 'error 2'],
      requests: ['GET / -', 'GET / 1'],
    },
  },
  {
    name: 'cr-only',
    replies: [es(`${R.replace(/\n/g, '\r')}data: a\r\rdata: b\rdata: c\r\r`)],
    expected: { events: ['open 1', 'message "a" #', 'message "b\\nc" #', 'error 0', 'error 2'] },
  },
  {
    name: 'crlf',
    replies: [es(`${R.replace(/\n/g, '\r\n')}data: a\r\n\r\ndata: b\r\ndata: c\r\n\r\n`)],
    expected: { events: ['open 1', 'message "a" #', 'message "b\\nc" #', 'error 0', 'error 2'] },
  },
  {
    name: 'mixed-line-endings',
    replies: [es(`${R}data: a\rdata: b\ndata: c\r\n\ndata: d\n\r\n\rdata: e\r\r`)],
    expected: {
      events: [
        'open 1',
        'message "a\\nb\\nc" #',
        'message "d" #',
        'message "e" #',
        'error 0',
        'error 2',
      ],
    },
  },
  {
    name: 'cr-then-lf-in-next-write',
    replies: [es(R, 'data: a\r', 30, '\ndata: b\r', 30, '\n\r', 30, '\n', 30, 'data: c\n\n')],
    // CR LF split over writes is one line end: "a" and "b" are one event; \r then \n is one
    // blank line, and the next \n a second one.
    expected: { events: ['open 1', 'message "a\\nb" #', 'message "c" #', 'error 0', 'error 2'] },
  },
  {
    name: 'cr-at-end-dispatches-before-next-write',
    // A blank line ending in a lone CR dispatches at once: the event is out before the next write.
    replies: [es(R, 'data: a\r\r', 60, '\ndata: b\n\n')],
    expected: { events: ['open 1', 'message "a" #', 'message "b" #', 'error 0', 'error 2'] },
  },
  {
    name: 'bom-at-start',
    replies: [es('\uFEFFdata: a\n\n', R)],
    expected: { events: ['open 1', 'message "a" #', 'error 0', 'error 2'] },
  },
  {
    name: 'bom-split-across-writes',
    replies: [es(bytes(0xef, 0xbb), 30, bytes(0xbf), 30, 'data: a\n\n', R)],
    expected: { events: ['open 1', 'message "a" #', 'error 0', 'error 2'] },
  },
  {
    name: 'two-boms',
    // Only the first is the BOM: the second starts a field named "\uFEFFdata", which is unknown.
    replies: [es('\uFEFF\uFEFFdata: a\n\ndata: b\n\n', R)],
    expected: { events: ['open 1', 'message "b" #', 'error 0', 'error 2'] },
  },
  {
    name: 'bom-later-in-stream',
    replies: [es(`${R}data: a\n\n\uFEFFdata: b\n\ndata: \uFEFFc\n\n`)],
    expected: { events: ['open 1', 'message "a" #', 'message "\uFEFFc" #', 'error 0', 'error 2'] },
  },
  {
    name: 'bom-on-reconnection',
    // Each response is its own UTF-8 stream: its BOM is stripped again.
    replies: [es('\uFEFFdata: a\n\n', R), es('\uFEFFdata: b\n\n')],
    expected: {
      events: [
        'open 1',
        'message "a" #',
        'error 0',
        'open 1',
        'message "b" #',
        'error 0',
        'error 2',
      ],
    },
  },
  // --- UTF-8 ---
  {
    name: 'invalid-utf8',
    replies: [
      es(
        R,
        utf8('data: a'),
        bytes(0xff, 0xfe, 0x80),
        utf8('b\ndata: '),
        bytes(0xe2, 0x82),
        utf8('\n\ndata: '),
        bytes(0xf0, 0x9f, 0x98),
        utf8('x\n\n'),
      ),
    ],
    expected: {
      events: [
        'open 1',
        'message "a\uFFFD\uFFFD\uFFFDb\\n\uFFFD" #',
        'message "\uFFFDx" #',
        'error 0',
        'error 2',
      ],
    },
  },
  {
    name: 'multibyte-split-across-writes',
    replies: [
      es(
        R,
        bytes(0x64, 0x61, 0x74, 0x61, 0x3a, 0x20, 0xe2),
        30,
        bytes(0x82),
        30,
        bytes(0xac),
        '\ndata: ',
        30,
        bytes(0xf0, 0x9f),
        30,
        bytes(0x98, 0x80, 0x0a, 0x0a),
      ),
    ],
    expected: { events: ['open 1', 'message "€\\n😀" #', 'error 0', 'error 2'] },
  },
  {
    name: 'truncated-utf8-at-stream-end',
    replies: [es(R, 'data: a\n\ndata: ', bytes(0xe2, 0x82))],
    expected: { events: ['open 1', 'message "a" #', 'error 0', 'error 2'] },
  },
  {
    name: 'charset-utf-8-accepted',
    replies: [
      {
        headers: { 'content-type': 'text/event-stream; charset=UTF-8' },
        body: [R, 'data: é€\n\n'],
      },
    ],
    expected: { events: ['open 1', 'message "é€" #', 'error 0', 'error 2'] },
  },
  {
    name: 'charset-other-ignored',
    replies: [
      {
        headers: { 'content-type': 'text/event-stream; charset=windows-1252' },
        body: [R, 'data: é€\n\n'],
      },
    ],
    divergence: {
      why:
        'Spec: the stream is always UTF-8, and only the MIME type essence is checked (WPT ' +
        'eventsource/format-utf-8 sends charset=windows-1252 and expects the event). Chromium ' +
        'fails the connection when a charset other than UTF-8 is named. ssekit follows the spec.',
      native: { events: ['error 2'], requests: ['GET / -'] },
      ours: {
        events: ['open 1', 'message "é€" #', 'error 0', 'error 2'],
        requests: ['GET / -', 'GET / -'],
      },
    },
    parserEvents: ['message "é€" #'],
  },
  // --- Fields ---
  {
    name: 'data-forms',
    replies: [
      es(
        R,
        'data\n\n', // no colon: empty data, dispatched
        'data:x\n\n', // no space
        'data:  two\n\n', // one space removed, the second kept
        'data: a\ndata\ndata: b\n\n', // multi-line, an empty line in the middle
        'data: trailing\ndata\n\n', // a trailing empty data line: one LF kept
        'data:\n\n', // empty data
        'data: tab\tx \n\n',
        'data: colon: inside\n\n',
      ),
    ],
    expected: {
      events: [
        'open 1',
        'message "" #',
        'message "x" #',
        'message " two" #',
        'message "a\\n\\nb" #',
        'message "trailing\\n" #',
        'message "" #',
        'message "tab\\tx " #',
        'message "colon: inside" #',
        'error 0',
        'error 2',
      ],
    },
  },
  {
    name: 'event-field',
    replies: [
      es(
        R,
        'event: foo\ndata: 1\n\n',
        'event:\ndata: 2\n\n', // empty: message
        'event\ndata: 3\n\n', // no colon: empty, message
        'event: message\ndata: 4\n\n', // named message: onmessage too
        'event: foo\nevent: bar\ndata: 5\n\n', // the last one wins
        'event: foo\n\ndata: 6\n\n', // the type does not outlive its block
        'event:  sp\ndata: 7\n\n', // " sp"
        'event: Foo\ndata: 8\n\n', // case matters
      ),
    ],
    client: { types: ['foo', 'bar', ' sp', 'Foo'] },
    expected: {
      events: [
        'open 1',
        'foo "1" #',
        'message "2" #',
        'message "3" #',
        'message "4" #',
        'bar "5" #',
        'message "6" #',
        ' sp "7" #',
        'Foo "8" #',
        'error 0',
        'error 2',
      ],
    },
  },
  {
    name: 'event-named-open-and-error',
    // A server's `event: error` is a MessageEvent of type error: onerror sees it, readyState OPEN.
    replies: [es(R, 'event: error\ndata: e\n\nevent: open\ndata: o\n\ndata: m\n\n')],
    expected: {
      events: ['open 1', 'error "e" #', 'open "o" #', 'message "m" #', 'error 0', 'error 2'],
    },
  },
  {
    name: 'id-field',
    replies: [
      es(
        R,
        'id: 1\ndata: a\n\n',
        'data: b\n\n', // the id persists
        'id\ndata: c\n\n', // no colon: resets
        'id: 2\n\n', // id only: no event, but the id moves
        'data: d\n\n',
        'id: x\0y\ndata: e\n\n', // NUL: ignored
        'id:  sp\ndata: f\n\n', // " sp"
        'id: 3\nid: 4\ndata: g\n\n',
        'data: h\nid: 5\n\n', // the id of its own block
        'id:\ndata: i\n\n', // empty: resets
      ),
    ],
    expected: {
      events: [
        'open 1',
        'message "a" #1',
        'message "b" #1',
        'message "c" #',
        'message "d" #2',
        'message "e" #2',
        'message "f" # sp',
        'message "g" #4',
        'message "h" #5',
        'message "i" #',
        'error 0',
        'error 2',
      ],
      requests: ['GET / -', 'GET / -'],
    },
  },
  {
    name: 'id-persists-across-reconnections',
    replies: [es(`${R}id: 7\ndata: a\n\n`), es('data: b\n\n'), es('id: 8\n\ndata: c\n\n')],
    expected: {
      events: [
        'open 1',
        'message "a" #7',
        'error 0',
        'open 1',
        'message "b" #7',
        'error 0',
        'open 1',
        'message "c" #8',
        'error 0',
        'error 2',
      ],
      requests: ['GET / -', 'GET / 7', 'GET / 7', 'GET / 8'],
    },
  },
  {
    name: 'id-reset-then-reconnect-sends-none',
    replies: [es(`${R}id: 7\ndata: a\n\nid\ndata: b\n\n`), es('data: c\n\n')],
    expected: {
      events: [
        'open 1',
        'message "a" #7',
        'message "b" #',
        'error 0',
        'open 1',
        'message "c" #',
        'error 0',
        'error 2',
      ],
      requests: ['GET / -', 'GET / -', 'GET / -'],
    },
  },
  {
    name: 'id-of-unfinished-block-not-sent',
    replies: [es(`${R}id: 1\ndata: a\n\nid: 2\ndata: cut`)],
    expected: {
      events: ['open 1', 'message "a" #1', 'error 0', 'error 2'],
      requests: ['GET / -', 'GET / 1'],
    },
  },
  {
    name: 'id-non-ascii-last-event-id',
    // Last-Event-ID carries the id encoded as UTF-8.
    replies: [es(`${R}id: é€😀\ndata: a\n\n`), es('data: b\n\n')],
    expected: {
      events: [
        'open 1',
        'message "a" #é€😀',
        'error 0',
        'open 1',
        'message "b" #é€😀',
        'error 0',
        'error 2',
      ],
      requests: ['GET / -', 'GET / é€😀', 'GET / é€😀'],
    },
  },
  {
    name: 'retry-forms',
    // Only ASCII digits set the reconnection time: the others keep 20 ms (the run would take
    // 3 s or more otherwise).
    replies: [
      es(
        R,
        'retry: 20x\n',
        'retry: -1\n',
        'retry: 1.5\n',
        'retry:\n',
        'retry\n',
        'retry:  30\n',
        'retry: ٣٠\n',
        'retry: 1e3\n',
        'data: a\n\n',
      ),
    ],
    expected: { events: ['open 1', 'message "a" #', 'error 0', 'error 2'] },
  },
  {
    name: 'retry-without-blank-line-applies',
    // retry: takes effect at once, even in a block that never ends.
    replies: [es('data: a\n\nretry: 20\ndata: cut')],
    expected: { events: ['open 1', 'message "a" #', 'error 0', 'error 2'] },
  },
  {
    name: 'retry-huge',
    // 2^32 + 10 ms (50 days): no reconnection within the wait. A timer wraps such a delay
    // (browsers take it modulo 2^32: 10 ms; Node: 1 ms).
    replies: [es('retry: 4294967306\ndata: a\n\n')],
    client: { closeAfterErrorWait: { errors: 1, ms: 400 } },
    expected: { events: ['open 1', 'message "a" #', 'error 0'], requests: ['GET / -'] },
  },
  {
    name: 'retry-zero',
    replies: [es('retry: 0\ndata: a\n\n')],
    expected: { events: ['open 1', 'message "a" #', 'error 0', 'error 2'] },
  },
  {
    // WPT eventsource/format-field-parsing's stream.
    name: 'wpt-field-parsing',
    replies: [
      es(
        R,
        'data:\0\ndata:  2\rData:1\ndata\0:2\ndata:1\r\0data:4\nda-ta:3\rdata_5\ndata:3\rdata:\r\n data:32\ndata:4\n\n',
      ),
    ],
    expected: {
      events: ['open 1', 'message "\\u0000\\n 2\\n1\\n3\\n\\n4" #', 'error 0', 'error 2'],
    },
  },
  {
    name: 'handlers-stream',
    replies: [es(`${R}data: 1\n\ndata: 2\n\nevent: x\ndata: 3\n\n`)],
    client: { types: ['x'] },
  },
  {
    name: 'unknown-fields-case-comments',
    replies: [
      es(
        R,
        'Data: no\nDATA: no\nEvent: no\nID: no\nRetry: 1\nfoo: bar\nfoo\n',
        ': a comment\n:\n: data: x\n',
        'data: a\n\n',
        ':only a comment block\n\n',
        ' data: leading space is a field named " data"\n\n',
        'data : no\n\n', // "data " is another field
        'data: b\n\n',
      ),
    ],
    expected: { events: ['open 1', 'message "a" #', 'message "b" #', 'error 0', 'error 2'] },
  },
  {
    name: 'colon-first-line-is-comment',
    replies: [es(`${R}:data: x\n\n:\n\ndata: a\n:data: y\n\n`)],
    expected: { events: ['open 1', 'message "a" #', 'error 0', 'error 2'] },
  },
  {
    name: 'no-trailing-blank-line-at-end',
    replies: [es(`${R}data: a\n\ndata: b\n`)],
    expected: { events: ['open 1', 'message "a" #', 'error 0', 'error 2'] },
  },
  {
    name: 'null-and-controls-in-data',
    replies: [es(`${R}data: a\0b\x01\x7f\n\nevent: x\0y\ndata: c\n\n`)],
    client: { types: ['x\0y'] },
    expected: {
      events: ['open 1', 'message "a\\u0000b\\u0001\x7f" #', 'x\0y "c" #', 'error 0', 'error 2'],
    },
  },
  {
    name: 'many-events-one-write',
    replies: [es(R + Array.from({ length: 50 }, (_, i) => `id: ${i}\ndata: ${i}\n\n`).join(''))],
    expected: {
      events: [
        'open 1',
        ...Array.from({ length: 50 }, (_, i) => `message "${i}" #${i}`),
        'error 0',
        'error 2',
      ],
      requests: ['GET / -', 'GET / 49'],
    },
  },
  {
    name: 'large-event-across-writes',
    replies: [es(R, `data: ${'x'.repeat(70_000)}`, 20, `${'y'.repeat(70_000)}\n\n`)],
    parserEvents: [`message "${'x'.repeat(70_000)}${'y'.repeat(70_000)}" #`],
  },
  // --- Responses ---
  {
    name: 'status-204',
    replies: [{ status: 204 }],
    expected: { events: ['error 2'], requests: ['GET / -'] },
    noParser: true,
  },
  {
    name: 'status-500',
    replies: [{ status: 500, headers: ES, body: ['data: a\n\n'] }],
    expected: { events: ['error 2'], requests: ['GET / -'] },
    noParser: true,
  },
  {
    name: 'status-404',
    replies: [{ status: 404, headers: ES, body: ['data: a\n\n'] }],
    expected: { events: ['error 2'], requests: ['GET / -'] },
    noParser: true,
  },
  {
    name: 'status-201',
    replies: [{ status: 201, headers: ES, body: ['data: a\n\n'] }],
    expected: { events: ['error 2'], requests: ['GET / -'] },
    noParser: true,
  },
  {
    name: 'status-500-after-reconnect',
    replies: [es(`${R}data: a\n\n`), { status: 503 }],
    expected: {
      events: ['open 1', 'message "a" #', 'error 0', 'error 2'],
      requests: ['GET / -', 'GET / -'],
    },
  },
  {
    name: 'content-type-wrong',
    replies: [{ headers: { 'content-type': 'text/plain' }, body: ['data: a\n\n'] }],
    expected: { events: ['error 2'], requests: ['GET / -'] },
    noParser: true,
  },
  {
    name: 'content-type-missing',
    replies: [{ body: ['data: a\n\n'] }],
    expected: { events: ['error 2'], requests: ['GET / -'] },
    noParser: true,
  },
  {
    name: 'content-type-params-and-case',
    replies: [
      {
        headers: { 'content-type': 'Text/Event-Stream ; charset=UTF-8' },
        body: [R, 'data: a\n\n'],
      },
      { headers: { 'content-type': 'TEXT/EVENT-STREAM;' }, body: ['data: b\n\n'] },
      { headers: { 'content-type': 'text/event-stream;foo="a;b"' }, body: ['data: c\n\n'] },
    ],
    expected: {
      events: [
        'open 1',
        'message "a" #',
        'error 0',
        'open 1',
        'message "b" #',
        'error 0',
        'open 1',
        'message "c" #',
        'error 0',
        'error 2',
      ],
    },
  },
  {
    name: 'content-type-near-misses',
    replies: [{ headers: { 'content-type': 'text/event-streams' }, body: ['data: a\n\n'] }],
    expected: { events: ['error 2'], requests: ['GET / -'] },
    noParser: true,
  },
  {
    name: 'content-type-two-headers-last-wins',
    // Fetch's "extract a MIME type": of two Content-Type headers, the last valid one counts.
    replies: [
      {
        headers: { 'content-type': ['text/plain', 'text/event-stream'] },
        body: [R, 'data: a\n\n'],
      },
    ],
    expected: { events: ['open 1', 'message "a" #', 'error 0', 'error 2'] },
  },
  {
    name: 'content-type-two-headers-event-stream-first',
    replies: [
      { headers: { 'content-type': ['text/event-stream', 'text/plain'] }, body: ['data: a\n\n'] },
    ],
    expected: { events: ['error 2'], requests: ['GET / -'] },
    noParser: true,
  },
  {
    name: 'content-type-invalid-last-skipped',
    // An unparsable last value (no slash) is skipped: the event stream before it counts.
    replies: [
      { headers: { 'content-type': ['text/event-stream', 'bogus'] }, body: [R, 'data: a\n\n'] },
    ],
    expected: { events: ['open 1', 'message "a" #', 'error 0', 'error 2'] },
  },
  {
    name: 'empty-body-reconnects',
    replies: [es(R), es(), es('data: a\n\n')],
    expected: {
      events: [
        'open 1',
        'error 0',
        'open 1',
        'error 0',
        'open 1',
        'message "a" #',
        'error 0',
        'error 2',
      ],
      requests: ['GET / -', 'GET / -', 'GET / -', 'GET / -'],
    },
  },
  {
    name: 'cut-mid-event-by-reset',
    replies: [
      { headers: ES, body: [R, 'id: 1\ndata: a\n\nid: 2\ndata: b', 50], ending: 'destroy' },
    ],
    expected: {
      events: ['open 1', 'message "a" #1', 'error 0', 'error 2'],
      requests: ['GET / -', 'GET / 1'],
    },
  },
  {
    name: 'destroyed-before-headers-reconnects',
    // No response: a network error, reestablished after the reconnection time.
    replies: [es(`${R}data: a\n\n`), { ending: 'destroy' }, es('data: b\n\n')],
    expected: {
      events: [
        'open 1',
        'message "a" #',
        'error 0',
        'error 0',
        'open 1',
        'message "b" #',
        'error 0',
        'error 2',
      ],
      requests: ['GET / -', 'GET / -', 'GET / -', 'GET / -'],
    },
  },
  {
    name: 'redirects',
    replies: [{ status: 302, headers: { location: '/s/redirects/target' } }],
    target: [es(`${R}id: 1\ndata: a\n\n`), es('data: b\n\n')],
  },
  {
    name: 'redirect-301',
    replies: [{ status: 301, headers: { location: '/s/redirect-301/target' } }],
    target: [es(`${R}data: a\n\n`)],
  },
  {
    name: 'redirect-307',
    replies: [{ status: 307, headers: { location: '/s/redirect-307/target' } }],
    target: [es(`${R}data: a\n\n`)],
  },
  {
    name: 'redirect-cross-origin-with-cors',
    replies: [
      {
        status: 302,
        headers: { location: 'http://localhost:PORT/s/redirect-cross-origin-with-cors/target' },
      },
    ],
    target: [
      { headers: { ...ES, 'access-control-allow-origin': '*' }, body: [R, 'data: a\n\n'] },
      { headers: { ...ES, 'access-control-allow-origin': '*' }, body: ['data: b\n\n'] },
    ],
  },
  // --- Cross-origin ---
  {
    name: 'cors-allowed',
    client: { crossOrigin: true },
    divergence: {
      why:
        'A reconnection sends Last-Event-ID, which is not a CORS-safelisted request header: a ' +
        'fetch (ssekit) sends a preflight first, which the server must allow ' +
        '(Access-Control-Allow-Headers: Last-Event-ID; ssekit/server cors() does). Chromium ' +
        'exempts its own EventSource from the preflight. Page JavaScript cannot: the events match.',
      native: {
        events: [
          'open 1',
          'message "a" #1 @LOCALHOST',
          'error 0',
          'open 1',
          'message "b" #1 @LOCALHOST',
          'error 0',
          'error 2',
        ],
        requests: ['GET / -', 'GET / 1', 'GET / 1'],
      },
      ours: {
        events: [
          'open 1',
          'message "a" #1 @LOCALHOST',
          'error 0',
          'open 1',
          'message "b" #1 @LOCALHOST',
          'error 0',
          'error 2',
        ],
        requests: ['GET / -', 'OPTIONS / -', 'GET / 1', 'OPTIONS / -', 'GET / 1'],
      },
    },
    replies: [
      { headers: { ...ES, 'access-control-allow-origin': '*' }, body: [R, 'id: 1\ndata: a\n\n'] },
      { headers: { ...ES, 'access-control-allow-origin': '*' }, body: ['data: b\n\n'] },
    ],
  },
  {
    name: 'cors-missing-fails',
    divergence: PROBE_DIVERGENCE,
    client: { crossOrigin: true },
    replies: [es(`${R}data: a\n\n`)],
    noParser: true,
  },
  {
    name: 'cors-credentials',
    client: { crossOrigin: true, withCredentials: true },
    replies: [
      {
        headers: {
          ...ES,
          'access-control-allow-origin': 'ORIGIN',
          'access-control-allow-credentials': 'true',
        },
        body: [R, 'data: a\n\n'],
      },
    ],
  },
  {
    name: 'cors-credentials-wildcard-fails',
    divergence: PROBE_DIVERGENCE,
    client: { crossOrigin: true, withCredentials: true },
    replies: [{ headers: { ...ES, 'access-control-allow-origin': '*' }, body: [R, 'data: a\n\n'] }],
    noParser: true,
  },
  {
    name: 'with-credentials-same-origin',
    client: { withCredentials: true },
    replies: [es(`${R}data: a\n\n`)],
  },
  // --- close() and handlers ---
  {
    name: 'close-in-onmessage',
    replies: [{ headers: ES, body: ['data: a\n\ndata: b\n\n'], ending: 'hold' }],
    client: { closeOnFirstMessage: true },
    expected: { events: ['open 1', 'message "a" #', 'closed'], requests: ['GET / -'] },
    noParser: true, // the response stays open
  },
  {
    name: 'close-while-connecting',
    replies: [{ delayMs: 300, headers: ES, body: ['data: a\n\n'], ending: 'hold' }],
    client: { closeAfterRequests: 1 },
    expected: { events: ['closed'], requests: ['GET / -'] },
    noParser: true,
  },
  {
    name: 'close-in-onerror-while-reconnecting',
    replies: [es(`${R}data: a\n\n`)],
    client: { closeOnError: 1 },
    expected: { events: ['open 1', 'message "a" #', 'error 0', 'closed'], requests: ['GET / -'] },
  },
  // --- URLs fetch cannot load, and the ones it can without a server ---
  ...[
    'about:blank',
    'mailto:whatwg@awesome.example',
    'ftp://example.not/',
    "javascript:alert('FAIL')",
  ].map(
    (rawUrl): Scenario => ({
      // WPT eventsource-constructor-non-same-origin: a network error known to be futile fails.
      name: `scheme-${rawUrl.slice(0, rawUrl.indexOf(':'))}`,
      client: { rawUrl },
      expected: { events: ['error 2'], requests: [] },
      noParser: true,
    }),
  ),
  {
    name: 'scheme-data',
    client: { rawUrl: 'data:text/event-stream,retry:20%0Aid:1%0Adata:%20a%0A%0A', maxErrors: 2 },
    // A data: URL's origin is opaque ("null"); it ends like any stream and is fetched again.
    expected: {
      events: [
        'open 1',
        'message "a" #1 @null',
        'error 0',
        'open 1',
        'message "a" #1 @null',
        'error 0',
      ],
      requests: [],
    },
    noParser: true,
  },
  {
    name: 'empty-url-is-the-page',
    client: { rawUrl: '' },
    expected: { events: ['error 2'], requests: [] },
    noParser: true,
  },
];

const browserRuns = new Map<string, string[]>(); // run id -> requests the server saw
const written = new Map<string, Uint8Array[]>(); // run id -> chunks of its first event stream
let browser: Browser;
let server: TestServer;
let page: Page;

/** Writes a reply, with its pauses, then ends it as it says. */
async function send(req: IncomingMessage, res: ServerResponse, reply: Reply, run: string) {
  if (reply.delayMs) await new Promise((resolve) => setTimeout(resolve, reply.delayMs));
  if (reply.ending === 'destroy' && !reply.status && !reply.headers) {
    // Before any response: the client sees a network error.
    req.socket.destroy();
    return;
  }
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(reply.headers ?? {})) {
    headers[name] =
      typeof value !== 'string'
        ? value
        : name === 'location'
          ? `${value.replace('PORT', String(server.port))}?run=${run}`
          : value.replace('ORIGIN', String(req.headers.origin));
  }
  // No keep-alive: Chromium silently retries a request whose reused connection closes before
  // the response, which would hide a cut from both sources, or from one of them.
  res.shouldKeepAlive = false;
  res.writeHead(reply.status ?? 200, headers);
  res.flushHeaders();
  const status = reply.status ?? 200;
  const chunks: Uint8Array[] = [];
  if (status === 200 && !written.has(run)) written.set(run, chunks);
  for (const part of reply.body ?? []) {
    if (typeof part === 'number') {
      await new Promise((resolve) => setTimeout(resolve, part));
      continue;
    }
    const chunk = typeof part === 'string' ? utf8(part) : part;
    chunks.push(chunk);
    if (res.destroyed) return;
    res.write(chunk);
  }
  if (reply.ending === 'destroy') res.destroy();
  else if (reply.ending !== 'hold') res.end();
}

async function handle(req: IncomingMessage, res: ServerResponse, attempts: Map<string, number>) {
  const url = new URL(req.url ?? '/', 'http://x');
  const run = url.searchParams.get('run') ?? '';
  if (url.pathname === '/seen') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(String(browserRuns.get(run)?.length ?? 0));
    return;
  }
  const match = /^\/s\/([^/]+)(\/.*)?$/.exec(url.pathname);
  const scenario = SCENARIOS.find((item) => item.name === match?.[1]);
  if (!scenario || !match) {
    res.writeHead(404).end();
    return;
  }
  const path = match[2] ?? '/';
  const log = browserRuns.get(run) ?? [];
  browserRuns.set(run, log);
  // Header values as UTF-8 (Node reads them as Latin-1: one character per byte).
  const header = (name: string) => {
    const value = req.headers[name];
    return value === undefined ? '-' : Buffer.from(String(value), 'latin1').toString('utf8');
  };
  log.push(
    `${req.method} ${path} ${header('last-event-id')} accept=${header('accept')} cache-control=${header('cache-control')} pragma=${header('pragma')} origin=${header('origin')} cookie=${header('cookie')} acrh=${header('access-control-request-headers')}`,
  );
  if (req.method === 'OPTIONS') {
    res
      .writeHead(204, {
        'access-control-allow-origin': String(req.headers.origin),
        'access-control-allow-headers': 'last-event-id',
        'access-control-allow-credentials': 'true',
      })
      .end();
    return;
  }
  const key = `${run} ${path}`;
  const attempt = (attempts.get(key) ?? 0) + 1;
  attempts.set(key, attempt);
  const replies = (path === '/target' ? scenario.target : scenario.replies) ?? [];
  const cors = scenario.client?.crossOrigin || path === '/target';
  const fallback: Reply = {
    status: 204,
    headers: cors
      ? {
          'access-control-allow-origin': String(req.headers.origin),
          'access-control-allow-credentials': 'true',
        }
      : {},
  };
  await send(req, res, replies[attempt - 1] ?? fallback, run);
}

beforeAll(async () => {
  const clientJs = await bundleForBrowser(new URL('../../src/client/index.ts', import.meta.url));
  const attempts = new Map<string, number>();
  server = await startServer(async (req, res) => {
    if (req.url === '/client.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(clientJs);
      return;
    }
    if (req.url === '/') {
      res
        .writeHead(200, { 'content-type': 'text/html' })
        .end(
          '<!doctype html><title>es</title><script type="module">import * as client from "/client.js"; window.ssekit = client;</script>',
        );
      return;
    }
    await handle(req, res, attempts);
  });
  browser = await launchBrowser();
  const context = await browser.newContext();
  await context.addCookies([
    { name: 'c', value: '1', domain: '127.0.0.1', path: '/' },
    { name: 'c', value: '1', domain: 'localhost', path: '/' },
  ]);
  page = await context.newPage();
  await page.goto(server.url);
  await page.waitForFunction(() => 'ssekit' in window);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

type SsekitWindow = { ssekit: typeof import('../../src/client/index.ts') };

/**
 * Runs one source in the page. `log`: every event, then how the run ended (`failed`, `closed`,
 * `waited`, `timeout`, `too many errors`); `first`: the MessageEvents before the first error
 * event (the first response's), without origin.
 */
async function runInPage(
  which: 'native' | 'ours',
  url: string,
  run: string,
  plan: ClientPlan,
): Promise<{ log: string[]; first: string[] }> {
  return page.evaluate(
    async ({ which, url, run, plan }) => {
      const Source =
        which === 'native'
          ? globalThis.EventSource
          : (window as unknown as SsekitWindow).ssekit.EventSource;
      const log: string[] = [];
      const first: string[] = [];
      const source = new Source(url, plan.withCredentials ? { withCredentials: true } : {});
      let errors = 0;
      let lastErrorAt = 0;
      let timeout: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        const finish = (how: string) => {
          if (source.readyState !== 2) source.close();
          clearTimeout(timeout);
          log.push(how);
          resolve();
        };
        const closeNow = () => {
          source.close();
          setTimeout(() => finish('closed'), 100); // nothing may follow a close()
        };
        const onEvent = (event: Event) => {
          const state = source.readyState;
          if (event instanceof MessageEvent) {
            const text = `${event.type} ${JSON.stringify(event.data)} #${event.lastEventId}`;
            if (errors === 0) first.push(text);
            let line = text;
            if (state !== 1) line += ` rs=${state}`;
            if (event.origin !== location.origin) line += ` @${event.origin}`;
            if (event.bubbles || event.cancelable) line += ' bubbles/cancelable';
            log.push(line);
            if (plan.closeOnFirstMessage && event.type === 'message') closeNow();
            return;
          }
          let line = `${event.type} ${state}`;
          // The reconnection time in force: 20 ms from the table; 3 s (the default) shows.
          if (event.type === 'open' && lastErrorAt && performance.now() - lastErrorAt > 1500)
            line += ' after>1.5s';
          if (event.bubbles || event.cancelable) line += ' bubbles/cancelable';
          log.push(line);
          if (event.type !== 'error') return;
          errors++;
          lastErrorAt = performance.now();
          if (state === 2) finish('failed');
          else if (plan.closeOnError === errors) closeNow();
          else if (plan.closeAfterErrorWait?.errors === errors)
            setTimeout(() => finish('waited'), plan.closeAfterErrorWait.ms);
          else if (errors >= (plan.maxErrors ?? 9)) finish('too many errors');
        };
        for (const type of ['open', 'message', 'error', ...(plan.types ?? [])])
          source.addEventListener(type, onEvent);
        timeout = setTimeout(() => finish('timeout'), 10_000);
        if (plan.closeAfterRequests) {
          const poll = async () => {
            const seen = Number(await (await fetch(`/seen?run=${run}`)).text());
            if (seen >= (plan.closeAfterRequests ?? 0)) closeNow();
            else setTimeout(poll, 10);
          };
          void poll();
        }
      });
      return { log, first };
    },
    { which, url, run, plan },
  );
}

/** The fetch client on one response (`retry: false`, no terminal events): its events. */
async function fetchInPage(url: string, plan: ClientPlan): Promise<string[]> {
  return page.evaluate(
    async ({ url, plan }) => {
      const { fetchEventStream } = (window as unknown as SsekitWindow).ssekit;
      const events: string[] = [];
      const stream = fetchEventStream(url, {
        retry: false,
        isTerminal: () => false,
        credentials: plan.withCredentials ? 'include' : 'same-origin',
        onEvent: (event) => events.push(`${event.type} ${JSON.stringify(event.data)} #${event.id}`),
      });
      await stream.finished.catch(() => {});
      return events;
    },
    { url, plan },
  );
}

/** The parser on the bytes of a first response, in the given chunks. */
function parse(chunks: Uint8Array[]): string[] {
  const events: string[] = [];
  const parser = createParser({
    onEvent: (event: ServerSentEvent) =>
      events.push(`${event.type} ${JSON.stringify(event.data)} #${event.id}`),
  });
  for (const chunk of chunks) parser.feed(chunk);
  parser.end();
  return events;
}

let runs = 0;
function urlOf(scenario: Scenario, run: string): string {
  if (scenario.client?.rawUrl !== undefined) return scenario.client.rawUrl;
  const host = scenario.client?.crossOrigin ? `http://localhost:${server.port}` : server.url;
  return `${host}/s/${scenario.name}?run=${run}`;
}

/** `GET / 7` from the server's request lines (the short form the table pins). */
const short = (line: string) => line.split(' ').slice(0, 3).join(' ');
/** Drops how a run ended (failed, waited...): the table's lists end with the last event. */
const eventsOf = (log: string[]) =>
  log.filter((line) => !['failed', 'timeout', 'waited', 'too many errors'].includes(line));
const localhost = (lines: string[]) =>
  lines.map((line) => line.replace('@LOCALHOST', `@http://localhost:${server.port}`));

describe('native EventSource and ssekit EventSource agree', () => {
  test('the interface: constants, url, withCredentials, readyState, invalid URLs, close()', async () => {
    const result = await page.evaluate(() => {
      const ours = (window as unknown as SsekitWindow).ssekit.EventSource;
      const describe = (Source: typeof EventSource) => {
        const source = new Source('/s/status-204?run=interface');
        const relative = new Source('s/x/../y?q=1#frag', { withCredentials: true });
        let syntax = '';
        try {
          new Source('http://[::1');
        } catch (error) {
          syntax = `${(error as DOMException).name} ${error instanceof DOMException}`;
        }
        const shape = {
          statics: [Source.CONNECTING, Source.OPEN, Source.CLOSED],
          instance: [source.CONNECTING, source.OPEN, source.CLOSED],
          readyState: source.readyState,
          url: source.url,
          relative: relative.url,
          withCredentials: [source.withCredentials, relative.withCredentials],
          handlers: [source.onopen, source.onmessage, source.onerror],
          syntax,
          eventTarget: source instanceof EventTarget,
          closeTwice: (() => {
            relative.close();
            relative.close();
            return relative.readyState;
          })(),
          ownKeys: Object.keys(source),
          ownConstant: Object.hasOwn(source, 'CONNECTING'),
          tag: Object.prototype.toString.call(source),
          // WebIDL: a dictionary member converts to boolean, a null init is the defaults.
          truthyCredentials: (() => {
            const other = new Source('/s/status-204?run=interface', {
              withCredentials: 1 as unknown as boolean,
            });
            other.close();
            return other.withCredentials;
          })(),
          nullInit: (() => {
            const other = new Source('/s/status-204?run=interface', null as never);
            other.close();
            return other.withCredentials;
          })(),
          stringified: (() => {
            const other = new Source({ toString: () => '/s/x' } as never);
            other.close();
            return other.url;
          })(),
        };
        source.close();
        return shape;
      };
      return { native: describe(EventSource), ours: describe(ours as never) };
    });
    expect(result.ours).toEqual(result.native);
    expect(result.native).toMatchObject({
      statics: [0, 1, 2],
      readyState: 0,
      url: `${server.url}/s/status-204?run=interface`,
      relative: `${server.url}/s/y?q=1#frag`,
      withCredentials: [false, true],
      syntax: 'SyntaxError true',
      closeTwice: 2,
      ownKeys: [],
      ownConstant: false,
      tag: '[object EventSource]',
      truthyCredentials: true,
      nullInit: false,
      stringified: `${server.url}/s/x`,
    });
  });

  test('event handler attributes: the listener keeps its place, null removes it, non-objects are null', async () => {
    const run = async (which: 'native' | 'ours', url: string) =>
      page.evaluate(
        async ({ which, url }) => {
          const Source =
            which === 'native'
              ? EventSource
              : ((window as unknown as SsekitWindow).ssekit
                  .EventSource as never as typeof EventSource);
          const source = new Source(url);
          const calls: string[] = [];
          const getters: string[] = [];
          source.onmessage = () => calls.push('first handler');
          source.addEventListener('message', () => calls.push('listener 1'));
          // A new value keeps the place of the first one.
          source.onmessage = function (this: unknown, event) {
            calls.push(`handler ${(event as MessageEvent).data} this=${this === source}`);
            if ((event as MessageEvent).data === '1') {
              // null removes it; a new one goes to the end.
              source.onmessage = null;
              source.onmessage = () => calls.push('handler again');
            }
          };
          source.addEventListener('message', () => calls.push('listener 2'));
          source.onopen = () => calls.push('open handler');
          (source as unknown as { onerror: unknown }).onerror = 'not a function';
          getters.push(`onerror=${String(source.onerror)}`);
          const object = { handleEvent: () => calls.push('handleEvent: never') };
          (source as unknown as { onerror: unknown }).onerror = object;
          getters.push(`onerror is the object: ${(source.onerror as unknown) === object}`);
          source.onerror = () => {
            calls.push(`error handler ${source.readyState}`);
            if (source.readyState === 2) done();
          };
          source.addEventListener('x', (event) => calls.push(`x ${(event as MessageEvent).data}`));
          let done = () => {};
          await new Promise<void>((resolve) => {
            done = resolve;
            setTimeout(resolve, 5000);
          });
          source.close();
          return { calls, getters };
        },
        { which, url },
      );
    const [native, ours] = await Promise.all([
      run('native', `${server.url}/s/handlers-stream?run=handlers-native`),
      run('ours', `${server.url}/s/handlers-stream?run=handlers-ours`),
    ]);
    expect(ours).toEqual(native);
    expect(native).toEqual({
      calls: [
        'open handler',
        'handler 1 this=true',
        'listener 1',
        'listener 2',
        'listener 1',
        'listener 2',
        'handler again',
        'x 3',
        'error handler 0',
        'error handler 2',
      ],
      getters: ['onerror=null', 'onerror is the object: true'],
    });
  });

  for (const scenario of SCENARIOS) {
    test(scenario.name, async () => {
      const id = ++runs;
      const nativeRun = `native-${id}`;
      const oursRun = `ours-${id}`;
      const plan = scenario.client ?? {};
      const [nativeResult, oursResult] = await Promise.all([
        runInPage('native', urlOf(scenario, nativeRun), nativeRun, plan),
        runInPage('ours', urlOf(scenario, oursRun), oursRun, plan),
      ]);
      const native = { events: nativeResult.log, requests: browserRuns.get(nativeRun) ?? [] };
      const ours = { events: oursResult.log, requests: browserRuns.get(oursRun) ?? [] };
      expect(native.events).not.toContain('timeout');
      expect(ours.events).not.toContain('timeout');
      if (scenario.divergence) {
        const { native: nativeExpected, ours: oursExpected } = scenario.divergence;
        expect({ events: eventsOf(native.events), requests: native.requests.map(short) }).toEqual({
          ...nativeExpected,
          events: localhost(nativeExpected.events),
        });
        expect({ events: eventsOf(ours.events), requests: ours.requests.map(short) }).toEqual({
          ...oursExpected,
          events: localhost(oursExpected.events),
        });
      } else {
        expect(ours).toEqual(native);
        if (scenario.expected) {
          expect(eventsOf(native.events)).toEqual(localhost(scenario.expected.events));
          if (scenario.expected.requests)
            expect(native.requests.map(short)).toEqual(scenario.expected.requests);
        }
      }
      if (scenario.noParser) return;
      // The fetch client and the parser: the events of the first response.
      const firstEvents = scenario.parserEvents ?? nativeResult.first;
      const fetchRun = `fetch-${id}`;
      expect(await fetchInPage(urlOf(scenario, fetchRun), plan)).toEqual(firstEvents);
      const bytes = concatBytes(...(written.get(fetchRun) ?? []));
      expect(parse(whole(bytes))).toEqual(firstEvents);
      expect(parse(byteByByte(bytes))).toEqual(firstEvents);
      for (const { label, chunks } of chunkings(bytes, { everySplit: false, seeds: [1, 2, 3] }))
        expect(parse(chunks), label).toEqual(firstEvents);
    });
  }
});
