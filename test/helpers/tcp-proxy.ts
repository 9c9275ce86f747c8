/**
 * A real TCP proxy on a free loopback port, for fault tests: every connection is piped to the
 * target, and `cut()` (or `cutEvery(ms)`) destroys every open connection on both sides at once, so
 * a reply the target already sent can be lost on the way, exactly as a dropped network path or a
 * failing load balancer loses it.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  /** The proxy's port on 127.0.0.1. */
  readonly port: number;
  /** Connections cut so far. */
  readonly cuts: number;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Destroys every open connection (client side and target side). */
  cut(): void;
  /** Cuts every `ms` until `stop()` or `cutEvery(0)`. */
  cutEvery(ms: number): void;
  /** Stops cutting, closes the proxy and every connection. */
  close(): Promise<void>;
}

export async function startTcpProxy(
  targetPort: number,
  targetHost = '127.0.0.1',
): Promise<TcpProxy> {
  const pairs = new Set<[Socket, Socket]>();
  let cuts = 0;
  let connections = 0;
  let timer: ReturnType<typeof setInterval> | undefined;
  const server: Server = createServer({ noDelay: true }, (client) => {
    connections++;
    const upstream = connect({ port: targetPort, host: targetHost, noDelay: true });
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const close = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const cut = () => {
    for (const pair of [...pairs]) {
      const [client, upstream] = pair;
      cuts++;
      pairs.delete(pair);
      // A reset, not a FIN: whatever is in flight is lost, as on a broken path.
      client.resetAndDestroy();
      upstream.resetAndDestroy();
    }
  };
  return {
    port,
    get cuts() {
      return cuts;
    },
    get connections() {
      return connections;
    },
    cut,
    cutEvery(ms) {
      if (timer !== undefined) clearInterval(timer);
      timer = ms > 0 ? setInterval(cut, ms) : undefined;
    },
    async close() {
      if (timer !== undefined) clearInterval(timer);
      cut();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
