/**
 * `@opentelemetry/api` is an optional peer dependency: without it the core works, because
 * nothing but ssekit/otel imports it. Proven in a child Node process where every @opentelemetry
 * package is unresolvable (a resolve hook), with the control that ssekit/otel then fails to load.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect, test } from 'vitest';

const run = promisify(execFile);
const root = new URL('../..', import.meta.url).pathname;
const fixture = (name: string) => new URL(`fixtures/${name}`, import.meta.url).pathname;

function withoutOpenTelemetry(script: string) {
  return run(
    process.execPath,
    ['--import', fixture('block-opentelemetry.mjs'), '--import', 'tsx', fixture(script)],
    { cwd: root, timeout: 60_000 },
  );
}

test('without @opentelemetry/api the server, the hub, the client and contracts work', async () => {
  const { stdout } = await withoutOpenTelemetry('core-without-opentelemetry.ts');
  expect(JSON.parse(stdout)).toEqual(['from a stream', 'from a run']);
}, 60_000);

test('the control: ssekit/otel fails to load there, naming the missing package', async () => {
  await expect(withoutOpenTelemetry('otel-without-opentelemetry.ts')).rejects.toMatchObject({
    stderr: expect.stringContaining("Cannot find package '@opentelemetry/api'"),
  });
}, 60_000);
