/**
 * workerd serving a Worker with the hub's Durable Object class bound as `HUB`, its objects
 * stored on disk (SQLite-backed, as `new_sqlite_classes` makes them on Cloudflare), so a restart
 * of workerd keeps them. And `bridgeEngine`: a `HubEngine` in Node whose every call is made by
 * the Durable Object engine inside that Worker (test/runtimes/apps/durable-object-app.ts), for
 * the shared conformance suite.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HubEngine, LogEntry, LogTail } from '../../src/hub/index.ts';
import { EngineError } from '../../src/index.ts';
import { bundle, freePort, runtimeBinary, WORKERD_COMPATIBILITY_DATE } from './_runtimes.ts';

function config(port: number): string {
  return `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .app),
    (name = "do-disk", disk = (path = "do", writable = true)),
  ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
const app :Workerd.Worker = (
  modules = [ (name = "app.js", esModule = embed "app.js") ],
  compatibilityDate = "${WORKERD_COMPATIBILITY_DATE}",
  durableObjectNamespaces = [
    (className = "HubObject", uniqueKey = "ssekit-hub-object", enableSql = true),
  ],
  durableObjectStorage = (localDisk = "do-disk"),
  bindings = [ (name = "HUB", durableObjectNamespace = "HubObject") ],
);
`;
}

/** A workerd process serving the app; `restart()` stops it and starts it on the same disk. */
export interface DurableObjectApp {
  url: string;
  readonly output: string;
  restart(): Promise<void>;
  close(): Promise<void>;
}

export async function serveDurableObjectApp(entry: string): Promise<DurableObjectApp> {
  const dir = mkdtempSync(join(tmpdir(), 'ssekit-durable-object-'));
  await bundle(entry, dir);
  mkdirSync(join(dir, 'do'));
  const port = await freePort();
  writeFileSync(join(dir, 'config.capnp'), config(port));
  const url = `http://127.0.0.1:${port}`;
  let output = '';
  let child: ChildProcess | undefined;

  const start = async () => {
    const started = spawn(runtimeBinary('workerd'), ['serve', 'config.capnp'], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = started;
    started.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    started.stderr!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    for (const since = Date.now(); ; ) {
      if (started.exitCode !== null) throw new Error(`workerd exited: ${output}`);
      try {
        await fetch(`${url}/ping`);
        return;
      } catch {
        if (Date.now() - since > 20_000) throw new Error(`workerd not listening: ${output}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  };
  const stop = async () => {
    const running = child;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    running.kill('SIGKILL');
    await exited;
  };
  await start();
  return {
    url,
    get output() {
      return output;
    },
    async restart() {
      await stop();
      await start();
    },
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

interface Failure {
  name?: string;
  message?: string;
  code?: 'engine-error' | 'append-conflict';
}

function rethrow(failure: Failure): never {
  if (failure.name === 'EngineError') {
    throw new EngineError(failure.message ?? '', failure.code ? { code: failure.code } : undefined);
  }
  throw new Error(`${failure.name}: ${failure.message}`);
}

/** Follows a streamed answer of the app, line by line, until `stop()`. */
function followLines(url: string, onLine: (line: Record<string, unknown>) => void): () => void {
  const controller = new AbortController();
  void (async () => {
    const response = await fetch(url, { signal: controller.signal });
    const decoder = new TextDecoder();
    let buffered = '';
    const reader = response.body!.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffered += decoder.decode(value, { stream: true });
      for (let end = buffered.indexOf('\n'); end !== -1; end = buffered.indexOf('\n')) {
        onLine(JSON.parse(buffered.slice(0, end)));
        buffered = buffered.slice(end + 1);
      }
    }
  })().catch(() => {
    // Stopped (aborted), or the app went away: the test's own checks report what is missing.
  });
  return () => controller.abort();
}

/** A new Durable Object engine in the app's Worker, driven from Node. */
export async function bridgeEngine(base: string): Promise<HubEngine> {
  const { engine } = (await (await fetch(`${base}/engine/create`)).json()) as { engine: string };
  const open = new Set<() => void>();
  const call = async (method: string, ...args: unknown[]): Promise<unknown> => {
    const response = await fetch(`${base}/engine/call?engine=${engine}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ method, args }),
    });
    const answer = (await response.json()) as { ok: boolean; value?: unknown; error?: Failure };
    if (!answer.ok) rethrow(answer.error!);
    return answer.value ?? undefined;
  };
  return {
    append: (key, event, options) =>
      call('append', key, event, ...(options ? [options] : [])) as Promise<string>,
    range: (key, after, count) => call('range', key, after ?? null, count) as Promise<LogEntry[]>,
    bounds: (key) => call('bounds', key) as Promise<{ first: string; last: string } | undefined>,
    tail(key, listener, onError): LogTail {
      let settle!: { resolve: () => void; reject: (error: unknown) => void };
      const ready = new Promise<void>((resolve, reject) => {
        settle = { resolve, reject };
      });
      const stop = followLines(
        `${base}/engine/tail?engine=${engine}&key=${encodeURIComponent(key)}`,
        (line) => {
          if (line.ready) settle.resolve();
          else if (line.readyError) settle.reject(line.readyError);
          else if (line.entry) listener(line.entry as LogEntry);
          else if (line.error) onError?.(line.error);
        },
      );
      open.add(stop);
      return {
        ready,
        close() {
          open.delete(stop);
          stop();
        },
      };
    },
    setValue: async (key, value, ttlMs) => {
      await call('setValue', key, value, ttlMs);
    },
    getValue: (key) => call('getValue', key) as Promise<string | undefined>,
    publishCancel: async (runId) => {
      await call('publishCancel', runId);
    },
    onCancel(listener) {
      const stop = followLines(`${base}/engine/cancels?engine=${engine}`, (line) => {
        if (typeof line.runId === 'string') listener(line.runId);
      });
      open.add(stop);
      return () => {
        open.delete(stop);
        stop();
      };
    },
    async close() {
      for (const stop of open) stop();
      open.clear();
      await fetch(`${base}/engine/close?engine=${engine}`);
    },
  };
}
