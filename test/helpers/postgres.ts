/**
 * A real PostgreSQL for tests: the one `DATABASE_URL` names, else the server on 127.0.0.1:5432
 * when one answers, else a private one (initdb + pg_ctl in a temporary directory, on a free port;
 * as the `postgres` user when we are root, which PostgreSQL refuses to run as). `.ci/setup`
 * installs PostgreSQL when it is missing; no test is skipped for lack of it.
 *
 * Each test file works in a schema of its own (`schema()`), dropped by `stop()`.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './redis.ts';

export interface TestPostgres {
  readonly url: string;
  /** A new pool on the database; ended by `stop()`. */
  pool(options?: pg.PoolConfig): pg.Pool;
  /** A fresh schema name for one engine (or several instances sharing it); dropped by `stop()`. */
  schema(): string;
  /** Stops the server at once, as a crash would (`SIGQUIT`: no checkpoint; own server only). */
  kill(): Promise<void>;
  /** Starts it again on the same data and port (recovering from the WAL) and waits until it answers. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

let counter = 0;

/** `own: true` always starts a private server, even with one on 5432: for tests that restart it. */
export async function startPostgres(options: { own?: boolean } = {}): Promise<TestPostgres> {
  let url = options.own ? undefined : (process.env.DATABASE_URL ?? (await sharedServer()));
  let server: OwnServer | undefined;
  if (url === undefined) {
    server = await startOwnServer();
    url = server.url;
  }
  const pools: pg.Pool[] = [];
  const schemas: string[] = [];
  const pool = (config: pg.PoolConfig = {}) => {
    const created = new pg.Pool({ connectionString: url, max: 8, ...config });
    created.on('error', () => {}); // idle connections dying with a restart; queries report their own
    pools.push(created);
    return created;
  };
  return {
    url,
    pool,
    schema: () => {
      const name = `ssekit_test_${process.pid}_${Date.now() % 1_000_000}_${++counter}`;
      schemas.push(name);
      return name;
    },
    kill: async () => {
      if (!server) throw new Error('kill() needs startPostgres({ own: true })');
      await server.kill();
    },
    start: async () => {
      if (!server) throw new Error('start() needs startPostgres({ own: true })');
      await server.start();
    },
    stop: async () => {
      // A pool ends once its connections are back; an engine a test left open holds one (its
      // LISTEN) forever, so the wait is bounded.
      await Promise.all(
        pools
          .splice(0)
          .map((created) =>
            Promise.race([
              created.end().catch(() => {}),
              new Promise((resolve) => setTimeout(resolve, 1_000)),
            ]),
          ),
      );
      const cleanup = new pg.Client({ connectionString: url });
      cleanup.on('error', () => {});
      try {
        await cleanup.connect();
        for (const name of schemas.splice(0))
          await cleanup.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
      } finally {
        await cleanup.end().catch(() => {});
      }
      await server?.stop();
    },
  };
}

async function sharedServer(): Promise<string | undefined> {
  const url = 'postgres://postgres@127.0.0.1:5432/postgres';
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return url;
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => {});
  }
}

interface OwnServer {
  url: string;
  kill(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

function binDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((name) => existsSync(join(root, name, 'bin', 'pg_ctl')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (!versions[0]) throw new Error('PostgreSQL is not installed: run `bash .ci/setup`.');
  return join(root, versions[0], 'bin');
}

async function startOwnServer(): Promise<OwnServer> {
  const bin = binDir();
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'ssekit-postgres-'));
  const data = join(dir, 'data');
  // As the postgres user when we are root (initdb and postgres refuse root).
  const user = asRoot ? userIds('postgres') : {};
  if (asRoot) chownSync(dir, user.uid!, user.gid!);
  execFileSync(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8'], {
    stdio: 'ignore',
    ...user,
  });
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn(
      join(bin, 'postgres'),
      [
        '-D',
        data,
        '-p',
        String(port),
        '-k',
        dir,
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'fsync=on',
      ],
      { stdio: 'ignore', ...user },
    );
    await waitForServer(`postgres://postgres@127.0.0.1:${port}/postgres`);
  };
  const kill = async (signal: NodeJS.Signals) => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      running.once('exit', () => resolve());
      // SIGQUIT is PostgreSQL's immediate shutdown (a crash, recovered from the WAL at start).
      running.kill(signal);
    });
  };
  await start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    kill: () => kill('SIGQUIT'),
    start,
    stop: async () => {
      await kill('SIGINT');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function userIds(name: string): { uid?: number; gid?: number } {
  const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

async function waitForServer(url: string): Promise<void> {
  for (let attempt = 0; attempt < 400; attempt++) {
    const client = new pg.Client({ connectionString: url });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.query('SELECT 1');
      return;
    } catch {
      // not up yet (or still starting: "the database system is starting up")
    } finally {
      await client.end().catch(() => {});
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`PostgreSQL did not answer at ${url}`);
}
