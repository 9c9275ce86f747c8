/**
 * Several Node processes on one Redis: a run started on instance A is read through instance B,
 * B is killed mid-stream, and the client resumes on instance C with Last-Event-ID: every event
 * exactly once, in order. Cancel from another instance stops the producer.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { fetchEventStream, type ServerSentEvent } from '../../src/client/index.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';

let redis: TestRedis;
const children: ChildProcess[] = [];

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await redis.stop();
});

async function startInstance(
  name: string,
  env: Record<string, string> = {},
): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', new URL('../hub/fixtures/instance.ts', import.meta.url).pathname],
    {
      env: {
        ...process.env,
        REDIS_URL: redis.url,
        NAME: name,
        PREFIX: `multi:${Date.now()}:`,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  children.push(child);
  const port = await new Promise<string>((resolve, reject) => {
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /ready (\d+)/.exec(output);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) =>
      reject(new Error(`${name} exited with ${code} before it was ready`)),
    );
  });
  return { url: `http://127.0.0.1:${port}`, child };
}

test('A starts the run, B is killed mid-stream, C resumes: ids contiguous, no loss, no duplicate', async () => {
  const prefix = `multi:${Date.now()}:`;
  const env = { PREFIX: prefix, TOKENS: '60', INTERVAL_MS: '15' };
  const [a, b, c] = await Promise.all([
    startInstance('A', env),
    startInstance('B', env),
    startInstance('C', env),
  ]);

  // 1. The run starts on A; the client reads a few events and leaves (the run goes on, detached).
  const events: ServerSentEvent[] = [];
  for await (const event of fetchEventStream(`${a.url}/chat`, { json: { prompt: 'hi' } })) {
    events.push(event);
    if (events.length === 5) break;
  }
  // 2. It attaches through B with Last-Event-ID; B is killed after 10 more; it resumes on C.
  const hosts: string[] = [];
  const stream = fetchEventStream(`${b.url}/chat`, {
    lastEventId: events.at(-1)!.id,
    retry: { initialDelayMs: 10, maxDelayMs: 20 },
    resume: () => ({ url: `${c.url}/chat` }),
    onOpen: (response) => hosts.push(new URL(response.url).port),
  });
  for await (const event of stream) {
    events.push(event);
    if (events.length === 15) b.child.kill('SIGKILL');
  }
  const indexes = events.map((event) => JSON.parse(event.data).index as number);
  expect(indexes).toEqual(Array.from({ length: 60 }, (_, index) => index + 1));
  expect(new Set(events.map((event) => event.id)).size).toBe(60);
  expect(events.every((event) => JSON.parse(event.data).by === 'A')).toBe(true); // produced once, on A
  expect(hosts).toEqual([new URL(b.url).port, new URL(c.url).port]);
}, 30_000);

test('cancel through another instance stops the producer where it runs', async () => {
  const env = { PREFIX: `multi:${Date.now()}:c:`, TOKENS: '100000', INTERVAL_MS: '5' };
  const [a, b] = await Promise.all([startInstance('A2', env), startInstance('B2', env)]);
  const closes: Array<{ reason: string; event?: ServerSentEvent }> = [];
  let count = 0;
  for await (const event of fetchEventStream(`${a.url}/chat`, {
    json: {},
    onClose: (info) => closes.push(info),
  })) {
    if (++count === 5) {
      const runId = event.id.split('.')[0]!;
      const response = await fetch(`${b.url}/cancel?runId=${runId}`, { method: 'DELETE' });
      expect(response.status).toBe(202);
    }
  }
  expect(count).toBeLessThan(1000);
  expect(closes[0]?.reason).toBe('done');
  expect(JSON.parse(closes[0]!.event!.data)).toEqual({ cancelled: true });
}, 30_000);
