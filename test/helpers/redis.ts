/**
 * A real redis-server for tests: started on a free port in a temporary directory (append-only
 * file on, so a restart keeps acknowledged writes), or the one `REDIS_URL` names. `.ci/run`
 * installs redis-server when it is missing; no test is skipped for lack of it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

export interface TestRedis {
  readonly url: string;
  /** A new client; closed by `stop()`. */
  client(): Redis;
  /** Kills the server and starts it again on the same port and data (own server only). */
  restart(): Promise<void>;
  /** Kills the server (own server only); `start()` brings it back. */
  kill(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * `own: true` always starts a private server, even with `REDIS_URL` set: for tests that kill and
 * restart it.
 */
export async function startRedis(options: { own?: boolean } = {}): Promise<TestRedis> {
  const clients: Redis[] = [];
  const client = (url: string) => () => {
    const redis = new Redis(url, {
      maxRetriesPerRequest: 3,
      retryStrategy: (times) => Math.min(times * 20, 200),
    });
    redis.on('error', () => {}); // reconnection noise; commands report their own failures
    clients.push(redis);
    return redis;
  };
  const closeClients = () => {
    for (const redis of clients.splice(0)) redis.disconnect();
  };
  if (process.env.REDIS_URL && !options.own) {
    const url = process.env.REDIS_URL;
    const noOwnServer = () =>
      Promise.reject(new Error('REDIS_URL is set: this test needs its own redis-server.'));
    return {
      url,
      client: client(url),
      restart: noOwnServer,
      kill: noOwnServer,
      start: noOwnServer,
      stop: async () => closeClients(),
    };
  }
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'ssekit-redis-'));
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
      ],
      { stdio: 'ignore' },
    );
    await waitForPing(port);
  };
  const kill = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      running.once('exit', () => resolve());
      running.kill('SIGKILL');
    });
  };
  await start();
  const url = `redis://127.0.0.1:${port}`;
  return {
    url,
    client: client(url),
    restart: async () => {
      await kill();
      await start();
    },
    kill,
    start,
    stop: async () => {
      closeClients();
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitForPing(port: number): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const redis = new Redis(port, '127.0.0.1', {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    redis.on('error', () => {});
    try {
      await redis.connect();
      if ((await redis.ping()) === 'PONG') return;
    } catch {
      // not up yet
    } finally {
      redis.disconnect();
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`redis-server did not answer on port ${port}`);
}
