/**
 * Helpers for the server tests: read a streamed body exactly, serve a Web handler on a real
 * socket, track the server's timers and unhandled rejections.
 */
import { connect, type Socket } from 'node:net';
import { vi } from 'vitest';
import { toNodeHandler } from '../../src/adapters/node.ts';
import { EventStreamDecoder } from '../../src/index.ts';
import type { ServerSentEvent } from '../../src/protocol/types.ts';
import { startServer, type TestServer } from './http-server.ts';

/** Reads a body as text, chunk by chunk, to wait for exact bytes. */
export interface TextReader {
  /** Everything read so far. */
  readonly text: string;
  /** Reads until the text read so far includes `needle`; returns all text read so far. */
  until(needle: string): Promise<string>;
  /** Reads to the end; returns all the text. */
  all(): Promise<string>;
  cancel(reason?: unknown): Promise<void>;
}

export function textReader(body: ReadableStream<Uint8Array> | null): TextReader {
  if (!body) throw new Error('the response has no body');
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const readOne = async () => {
    const { done, value } = await reader.read();
    if (done) return false;
    text += decoder.decode(value, { stream: true });
    return true;
  };
  return {
    get text() {
      return text;
    },
    async until(needle) {
      while (!text.includes(needle)) {
        if (!(await readOne())) {
          throw new Error(
            `stream ended before ${JSON.stringify(needle)}; got ${JSON.stringify(text)}`,
          );
        }
      }
      return text;
    },
    async all() {
      while (await readOne()) {}
      return text;
    },
    cancel: (reason) => reader.cancel(reason),
  };
}

/** Decodes a whole event-stream body into events. */
export async function collectEvents(response: Response): Promise<ServerSentEvent[]> {
  const events: ServerSentEvent[] = [];
  const reader = response.body!.pipeThrough(new EventStreamDecoder()).getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return events;
    events.push(value);
  }
}

/** A Web handler on a real node:http server, through the ssekit Node adapter. */
export function serveWeb(
  handler: (request: Request) => Response | Promise<Response>,
): Promise<TestServer> {
  return startServer(toNodeHandler(handler));
}

/** A deferred promise, for events the test waits for. */
export function deferred<T = void>(): {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
} {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * Tracks the timers created with the given (distinctive) delays, to prove that the server clears
 * them: `live()` is how many are neither cleared nor fired.
 */
export function trackTimers(delays: readonly number[]): { live(): number; restore(): void } {
  const created = new Set<unknown>();
  const cleared = new Set<unknown>();
  const setSpy = vi.spyOn(globalThis, 'setTimeout');
  const clearSpy = vi.spyOn(globalThis, 'clearTimeout');
  return {
    live() {
      setSpy.mock.calls.forEach((call, index) => {
        if (delays.includes(call[1] as number)) created.add(setSpy.mock.results[index]?.value);
      });
      for (const call of clearSpy.mock.calls) cleared.add(call[0]);
      return [...created].filter((handle) => !cleared.has(handle)).length;
    },
    restore() {
      setSpy.mockRestore();
      clearSpy.mockRestore();
    },
  };
}

/** Collects `unhandledRejection`s while a test runs. */
export function watchUnhandledRejections(): { readonly reasons: unknown[]; stop(): void } {
  const reasons: unknown[] = [];
  const listener = (reason: unknown) => reasons.push(reason);
  process.on('unhandledRejection', listener);
  return {
    reasons,
    stop: () => process.off('unhandledRejection', listener),
  };
}

/** Sends raw bytes on a new TCP connection and returns the socket (which the test reads or not). */
export function rawRequest(port: number, request: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(request);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** Reads from a raw socket until `needle` arrives; returns everything read. */
export function readSocketUntil(socket: Socket, needle: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (text.includes(needle)) {
        socket.off('data', onData);
        resolve(text);
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.once('end', () => resolve(text));
  });
}
