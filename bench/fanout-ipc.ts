/**
 * Plumbing of the fan-out benchmark: request/reply calls over a child's IPC channel (each bounded
 * in time), a clock that every process on the machine shares, and forking a child with enough file
 * descriptors for its sockets.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface CallMessage {
  id: number;
  method: string;
  params: unknown;
}

type ReplyMessage =
  | { kind: 'reply'; id: number; result: unknown }
  | { kind: 'reply'; id: number; error: string };

/**
 * Microseconds of CLOCK_MONOTONIC (`process.hrtime`): the same clock in every process of the
 * machine, so a time taken by the server and one taken by the client can be subtracted.
 * `performance.now()` cannot: each process has its own origin, known only to the millisecond.
 */
export function nowUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

// biome-ignore lint/suspicious/noExplicitAny: each handler validates its own parameters
type Handler = (params: any) => unknown;

/**
 * In a child: answers the parent's calls with `handlers`, says it is ready, and exits when the
 * parent goes away (so that no child outlives a parent killed mid-run).
 */
export function serveCalls(handlers: Record<string, Handler>): void {
  process.on('message', async (message: CallMessage) => {
    if (message.method === 'exit') process.exit(0); // flushes a --cpu-prof profile on the way
    const handler = message.method === 'cpu' ? cpuMicroseconds : handlers[message.method];
    let reply: ReplyMessage;
    try {
      if (!handler) throw new Error(`unknown method ${message.method}`);
      reply = { kind: 'reply', id: message.id, result: (await handler(message.params)) ?? null };
    } catch (error) {
      reply = {
        kind: 'reply',
        id: message.id,
        error: error instanceof Error ? (error.stack ?? error.message) : String(error),
      };
    }
    process.send?.(reply);
  });
  process.on('disconnect', () => process.exit(0));
  process.send?.({ kind: 'ready' });
}

/** Every child answers `cpu`: the CPU time it has used, user and system, in microseconds. */
function cpuMicroseconds(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

/** A child process driven by calls. */
export interface Child {
  call<T>(method: string, params?: unknown, timeoutMs?: number): Promise<T>;
  /** Asks the child to exit (so that `--cpu-prof` gets written), then kills it if it does not. */
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
let cleanupInstalled = false;

// Whatever happens to the parent (an error, Ctrl-C, a normal exit), no child is left behind.
function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      for (const child of running) child.kill('SIGKILL');
      process.exit(130);
    });
  }
}

export interface StartChildOptions {
  /**
   * The program that runs `script`: Bun or Deno (they answer Node's fork IPC, JSON messages on
   * NODE_CHANNEL_FD, as Node does). @default process.execPath
   */
  executable?: string;
  /** Arguments before the script: Node's flags, or `run -A ...` for Deno. */
  execArgv: string[];
  /** File descriptors the child needs: its soft limit is raised to it when lower. */
  fileDescriptors: number;
  /** How long the child may take to start. @default 20_000 */
  startTimeoutMs?: number;
}

/** Forks `script` with an IPC channel and resolves once it is ready for calls. */
export async function startChild(
  script: URL,
  args: string[],
  options: StartChildOptions,
): Promise<Child> {
  installCleanup();
  const argv = [...options.execArgv, fileURLToPath(script), ...args];
  const executable = options.executable ?? process.execPath;
  const raise = fileDescriptorLimit(options.fileDescriptors);
  // Node cannot call setrlimit: a shell raises the soft limit (up to the hard one), then execs Node
  // (or Bun, or Deno), which keeps the IPC descriptor and NODE_CHANNEL_FD.
  const child = raise
    ? spawn('/bin/sh', ['-c', `ulimit -n ${raise} && exec "$@"`, 'sh', executable, ...argv], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      })
    : spawn(executable, argv, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  running.add(child);
  const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  let nextId = 0;
  let exitError: Error | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      running.delete(child);
      exitError = new Error(`${script.pathname} ${args.join(' ')} exited (${signal ?? code})`);
      for (const call of pending.values()) call.reject(exitError);
      pending.clear();
      resolve();
    });
  });
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${script.pathname} did not start in time`)),
      options.startTimeoutMs ?? 20_000,
    );
    child.on('message', (message: ReplyMessage | { kind: 'ready' }) => {
      if (message.kind === 'ready') {
        clearTimeout(timer);
        resolve();
        return;
      }
      const call = pending.get(message.id);
      if (!call) return;
      pending.delete(message.id);
      if ('error' in message) call.reject(new Error(message.error));
      else call.resolve(message.result);
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(exitError);
    });
  });
  const stop = async () => {
    if (!running.has(child)) return;
    if (child.connected) child.send({ id: -1, method: 'exit', params: null });
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await ready;
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    call<T>(method: string, params: unknown = null, timeoutMs = 30_000): Promise<T> {
      if (exitError) return Promise.reject(exitError);
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`call ${method} to ${script.pathname} took more than ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, {
          resolve: (value) => {
            clearTimeout(timer);
            resolve(value as T);
          },
          reject: (error) => {
            clearTimeout(timer);
            reject(error);
          },
        });
        child.send({ id, method, params } satisfies CallMessage);
      });
    },
    stop,
  };
}

/**
 * The soft limit to ask for when the current one is below `needed`, or undefined when it is
 * enough (or unknown: not Linux). Throws when even the hard limit is too low, with the fix.
 */
function fileDescriptorLimit(needed: number): number | undefined {
  let limits: string;
  try {
    limits = readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return undefined;
  }
  const match = /^Max open files\s+(\S+)\s+(\S+)/m.exec(limits);
  if (!match) return undefined;
  const parse = (value: string) =>
    value === 'unlimited' ? Number.POSITIVE_INFINITY : Number(value);
  const [soft, hard] = [parse(match[1]!), parse(match[2]!)];
  if (soft >= needed) return undefined;
  if (hard < needed) {
    throw new Error(
      `The fan-out benchmark needs ${needed} open files per process, but the hard limit (ulimit -Hn) is ${hard}: raise it (limits.conf, or ulimit -Hn as root) or lower BENCH_FANOUT_N.`,
    );
  }
  return needed;
}
