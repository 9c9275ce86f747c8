/**
 * A real Redis Cluster for tests: six redis-server processes (`--cluster-enabled yes`) on free
 * ports in a temporary directory, joined by `redis-cli --cluster create --cluster-replicas 1`:
 * three masters, each with one replica. A short `cluster-node-timeout` makes a replica take over
 * within about a second of its master's death. Append-only files fsynced on every write.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Cluster, type ClusterOptions, Redis } from 'ioredis';

const run = promisify(execFile);

export interface TestRedisCluster {
  readonly ports: number[];
  /** A new cluster client; disconnected by `stop()`. */
  client(options?: ClusterOptions): Cluster;
  /** The port of the master that serves `key`'s slot now. */
  masterOf(key: string): Promise<number>;
  /** Kills one node with SIGKILL (no shutdown save), as a crash would. */
  kill(port: number): Promise<void>;
  /** Resolves once `key`'s slot is served by a master other than `port`, and the cluster is ok. */
  failedOver(key: string, port: number): Promise<number>;
  stop(): Promise<void>;
}

/** A port whose cluster bus port (+10000) is free too. */
async function freeClusterPort(): Promise<number> {
  for (;;) {
    const port = await listenFree(0);
    if (port > 55_000) continue;
    if ((await listenFree(port + 10_000).catch(() => 0)) !== 0) return port;
  }
}

async function listenFree(port: number): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const bound = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return bound;
}

export async function startRedisCluster(): Promise<TestRedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'ssekit-redis-cluster-'));
  const ports: number[] = [];
  const children = new Map<number, ChildProcess>();
  const clients: Array<Cluster | Redis> = [];
  for (let index = 0; index < 6; index++) {
    let port = await freeClusterPort();
    while (ports.includes(port)) port = await freeClusterPort();
    ports.push(port);
    const nodeDir = join(dir, String(port));
    mkdirSync(nodeDir);
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        nodeDir,
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        'nodes.conf',
        '--cluster-node-timeout',
        '1000',
        '--save',
        '',
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
      ],
      { stdio: 'ignore' },
    );
    children.set(port, child);
  }
  const node = (port: number) => {
    const redis = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1, lazyConnect: true });
    redis.on('error', () => {});
    return redis;
  };
  for (const port of ports) await until(() => ping(node(port)), `redis-server on ${port}`);
  await run('redis-cli', [
    '--cluster',
    'create',
    ...ports.map((port) => `127.0.0.1:${port}`),
    '--cluster-replicas',
    '1',
    '--cluster-yes',
  ]);
  const alive = () => ports.filter((port) => children.get(port)?.exitCode === null);
  const clusterOk = async () => {
    for (const port of alive()) {
      const info = await ask(node(port), ['CLUSTER', 'INFO']);
      if (!String(info).includes('cluster_state:ok')) return false;
    }
    return true;
  };
  await until(clusterOk, 'cluster_state:ok on every node');

  const masterOf = async (key: string): Promise<number> => {
    for (const port of alive()) {
      const slot = Number(await ask(node(port), ['CLUSTER', 'KEYSLOT', key]));
      const slots = (await ask(node(port), ['CLUSTER', 'SLOTS'])) as Array<
        [number, number, [string, number, ...unknown[]], ...unknown[]]
      >;
      const range = slots.find(([from, to]) => slot >= from && slot <= to);
      if (range) return Number(range[2][1]);
    }
    throw new Error(`no node serves the slot of ${key}`);
  };

  return {
    ports,
    client: (options: ClusterOptions = {}) => {
      const cluster = new Cluster(
        ports.map((port) => ({ host: '127.0.0.1', port })),
        options as never, // ioredis' own option types fail exactOptionalPropertyTypes
      );
      cluster.on('error', () => {}); // failover noise; commands report their own failures
      clients.push(cluster);
      return cluster;
    },
    masterOf,
    kill: async (port: number) => {
      const child = children.get(port);
      if (!child || child.exitCode !== null) return;
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      });
    },
    failedOver: async (key: string, port: number) => {
      let master = port;
      await until(async () => {
        master = await masterOf(key).catch(() => port);
        return master !== port && (await clusterOk());
      }, `a new master for ${key}`);
      return master;
    },
    stop: async () => {
      for (const client of clients.splice(0)) client.disconnect();
      for (const child of children.values()) if (child.exitCode === null) child.kill('SIGKILL');
      await Promise.all(
        [...children.values()].map((child) =>
          child.exitCode === null
            ? new Promise<void>((resolve) => child.once('exit', () => resolve()))
            : undefined,
        ),
      );
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function ask(redis: Redis, command: [string, ...string[]]): Promise<unknown> {
  try {
    await redis.connect().catch(() => {});
    return await redis.call(...command);
  } finally {
    redis.disconnect();
  }
}

async function ping(redis: Redis): Promise<boolean> {
  return (await ask(redis, ['PING']).catch(() => undefined)) === 'PONG';
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const started = Date.now();
  while (!(await check().catch(() => false))) {
    if (Date.now() - started > 60_000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
