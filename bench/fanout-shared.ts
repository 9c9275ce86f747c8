/**
 * What every fan-out server sends, whatever runs it (Node: bench/fanout-server.ts; Bun and Deno:
 * bench/fanout-server-web.ts): one topic, one ~100-byte JSON event per broadcast, and the calls
 * that broadcast. No imports, so that any runtime loads it as it is.
 */

/** The one topic of the ssekit servers. */
export const TOPIC = 'bench';

/** A ~100-byte JSON event, as an object (what an application has in hand). */
export function payload(seq: number): Record<string, unknown> {
  return {
    seq,
    type: 'quote',
    symbol: 'ACME',
    price: 100 + (seq % 400) / 4,
    volume: 1000 + (seq % 9000),
    venue: 'XNYS',
    note: 'fan-out',
  };
}

/**
 * The `broadcast` and `burst` calls of a server whose `broadcast(seq)` sends event `seq` to every
 * open stream; `nowUs` is the machine-wide clock the clients share (see fanout-ipc.ts).
 */
export function broadcastCalls(broadcast: (seq: number) => void, nowUs: () => number) {
  let seq = 0;
  return {
    /** One broadcast; the time it started. */
    broadcast(): number {
      const start = nowUs();
      broadcast(++seq);
      return start;
    },

    /**
     * `count` broadcasts, one per turn of the event loop: as if each event arrived on its own I/O
     * callback, with the sockets served between two. The times of the first and of the last.
     */
    burst(params: { count: number }): Promise<{ start: number; end: number }> {
      return new Promise((resolve) => {
        const start = nowUs();
        let sent = 0;
        const step = () => {
          broadcast(++seq);
          if (++sent < params.count) setImmediate(step);
          else resolve({ start, end: nowUs() });
        };
        step();
      });
    },
  };
}
