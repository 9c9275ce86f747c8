/**
 * Hub instances as separate Node processes (test/hub/fixtures/instance.ts: node:http, the Node
 * adapter, a hub on Redis), for tests that kill one of them. Each prints `ready <port>`.
 */
import { type ChildProcess, spawn } from 'node:child_process';

export interface Instance {
  readonly url: string;
  readonly child: ChildProcess;
  /** Kills it with SIGKILL and waits for the exit: nothing runs in it any more. */
  kill(): Promise<void>;
}

export async function startInstance(env: Record<string, string>): Promise<Instance> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', new URL('../hub/fixtures/instance.ts', import.meta.url).pathname],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const port = await new Promise<string>((resolve, reject) => {
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /ready (\d+)/.exec(output);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) =>
      reject(new Error(`instance exited with ${code} before it was ready`)),
    );
  });
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    kill: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}
