/**
 * examples/express, examples/koa, examples/fastify as users run them: installed from the packed
 * tarball (npm), built with `npm run build` (tsc against the real framework types), started with
 * `npm start`, and read by their own client (`npm run client`).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  ANSWER,
  expectAnswer,
  expectJsonErrors,
  expectLeaveStopsModel,
  expectSafeError,
} from './_chat.ts';
import { exampleWorkspace, run, type Started, start } from './_workspace.ts';

const workspace = exampleWorkspace();

describe.each(['express', 'koa', 'fastify'])('examples/%s', (name) => {
  const dir = workspace.example(name);
  let server: Started;
  let url: string;
  beforeAll(async () => {
    run('npm', ['run', 'build'], dir);
    server = start('npm', ['start'], dir, { PORT: '0', HOST: '127.0.0.1' });
    url = (await server.waitFor(/listening on (\S+)/))[1]!;
  });
  afterAll(() => server?.stop());

  test('its client prints the answer token by token', () => {
    expect(run('npm', ['run', '--silent', 'client', '--', url, 'Why SSE?'], dir)).toBe(
      `${ANSWER}\n`,
    );
  });

  test('every token as an event, then done', () => expectAnswer(url));
  test('bad requests get JSON errors', () => expectJsonErrors(url));
  test('a failing model ends the stream with a safe error event', () => expectSafeError(url));
  test('a client leaving stops the model', () =>
    expectLeaveStopsModel(url, () => server.waitFor(/the model stopped/, 5000)));
});
