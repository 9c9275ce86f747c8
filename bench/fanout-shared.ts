/**
 * What every fan-out server sends, whatever runs it (Node: bench/fanout-server.ts; Bun and Deno:
 * bench/fanout-server-web.ts): one topic, and one ~100-byte JSON event per broadcast. No imports,
 * so that any runtime loads it as it is.
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
