/**
 * The fan-out benchmark's clients, in a process of their own: raw `net` sockets that send a GET
 * and count the events they receive by the `\ndata:` that starts each data line. No HTTP or SSE
 * parser (with one event per data line, counting is enough), so the clients cost a small fraction
 * of what the server does and never set the pace.
 */
import { connect, type Socket } from 'node:net';
import { nowUs, serveCalls } from './fanout-ipc.ts';

const MARKER = Buffer.from('\ndata:');
const OVERLAP = MARKER.length - 1;

interface Connection {
  socket: Socket;
  events: number;
  status: number;
  /** The last bytes of the previous chunk, for a marker split across two reads (zeros at first). */
  tail: Buffer;
}

let connections: Connection[] = [];
let closedByServer = 0;
let total = 0;
let target = Number.POSITIVE_INFINITY;
let base = 0;
let reachedAt: number | undefined;
let onReached: (() => void) | undefined;

function count(connection: Connection, chunk: Buffer): void {
  if (connection.status === 0 && chunk.length >= 12) {
    connection.status = Number(chunk.subarray(9, 12).toString('latin1'));
  }
  let found = seamMarker(connection.tail, chunk) ? 1 : 0;
  for (let index = chunk.indexOf(MARKER); index !== -1; index = chunk.indexOf(MARKER, index + 1))
    found++;
  // Keep the last bytes for the next seam (copied: the chunk's memory is pooled).
  const keep = Math.min(OVERLAP, chunk.length);
  if (keep === OVERLAP) chunk.copy(connection.tail, 0, chunk.length - OVERLAP);
  else {
    connection.tail.copy(connection.tail, 0, keep);
    chunk.copy(connection.tail, OVERLAP - keep);
  }
  if (found === 0) return;
  connection.events += found;
  total += found;
  if (total >= target && reachedAt === undefined) {
    reachedAt = nowUs();
    onReached?.();
  }
}

/** True when a marker starts in `tail` (the previous chunk's last bytes) and ends in `chunk`. */
function seamMarker(tail: Buffer, chunk: Buffer): boolean {
  for (let before = 1; before <= OVERLAP; before++) {
    const after = MARKER.length - before;
    if (chunk.length < after) continue;
    let match = true;
    for (let index = 0; index < MARKER.length && match; index++) {
      const byte = index < before ? tail[OVERLAP - before + index] : chunk[index - before];
      match = byte === MARKER[index];
    }
    if (match) return true;
  }
  return false;
}

function openOne(port: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', noDelay: true });
    const connection: Connection = { socket, events: 0, status: 0, tail: Buffer.alloc(OVERLAP) };
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connecting to 127.0.0.1:${port} took more than ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.write(
        `GET /events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\n\r\n`,
      );
      connections.push(connection);
      resolve();
    });
    socket.on('data', (chunk: Buffer) => count(connection, chunk));
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.once('close', () => {
      if (connections.includes(connection)) closedByServer++;
    });
  });
}

serveCalls({
  /** Opens `count` connections, at most `concurrency` at a time (the listen backlog is finite). */
  async open(params: { port: number; count: number; concurrency?: number }) {
    let started = 0;
    const worker = async () => {
      while (started < params.count) {
        started++;
        await openOne(params.port, 10_000);
      }
    };
    await Promise.all(Array.from({ length: params.concurrency ?? 200 }, worker));
    return connections.length;
  },

  /** Closes every connection (the server sees the clients leave). */
  close() {
    const closing = connections;
    connections = [];
    for (const connection of closing) connection.socket.destroy();
    return closing.length;
  },

  /** Arms the counter: `wait` resolves once `deliveries` more events have arrived. */
  expect(params: { deliveries: number }) {
    base = total;
    target = total + params.deliveries;
    reachedAt = undefined;
    onReached = undefined;
    return null;
  },

  /** When the expected events had all arrived, or how many did within `timeoutMs`. */
  wait(params: { timeoutMs: number }) {
    return new Promise<{ at: number; received: number; complete: boolean }>((resolve) => {
      const settle = () => {
        clearTimeout(timer);
        onReached = undefined;
        const complete = reachedAt !== undefined;
        resolve({ at: reachedAt ?? nowUs(), received: total - base, complete });
      };
      const timer = setTimeout(settle, params.timeoutMs);
      if (reachedAt !== undefined) settle();
      else onReached = settle;
    });
  },

  /** What every open connection got: a check that each client received every event. */
  stats() {
    let min = Number.POSITIVE_INFINITY;
    let max = 0;
    let ok = 0;
    for (const connection of connections) {
      min = Math.min(min, connection.events);
      max = Math.max(max, connection.events);
      if (connection.status === 200) ok++;
    }
    return { connections: connections.length, ok, min, max, closedByServer };
  },
});
