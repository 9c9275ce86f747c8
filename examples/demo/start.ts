/**
 * `npm start`: builds the page if needed and starts the demo on http://localhost:3000.
 *
 * Environment (all optional): PORT, HOST, REDIS_URL (the hub on Redis), OPENAI_API_KEY with
 * OPENAI_BASE_URL and OPENAI_MODEL (the chat relays a real model). SIGINT or SIGTERM shuts down
 * cleanly: every stream gets a `retry:` hint with jitter before the server closes.
 */
import { ensureBuilt } from './build.ts';
import { startDemo } from './server/demo.ts';

const env = process.env;
const port = Number(env.PORT ?? 3000);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  console.error(`PORT must be a port number, got ${JSON.stringify(env.PORT)}.`);
  process.exit(2);
}

if (await ensureBuilt()) console.log('Built the page (examples/demo/dist).');
const demo = await startDemo({
  port,
  ...(env.HOST ? { host: env.HOST } : {}),
  ...(env.REDIS_URL ? { redisUrl: env.REDIS_URL } : {}),
  ...(env.OPENAI_API_KEY
    ? {
        openai: {
          apiKey: env.OPENAI_API_KEY,
          ...(env.OPENAI_BASE_URL ? { baseUrl: env.OPENAI_BASE_URL } : {}),
          ...(env.OPENAI_MODEL ? { model: env.OPENAI_MODEL } : {}),
        },
      }
    : {}),
});
const shown = demo.url.replace('127.0.0.1', 'localhost');
console.log(`ssekit demo on ${shown}`);
console.log(
  `  chat: ${env.OPENAI_API_KEY ? `OpenAI-compatible model (${env.OPENAI_MODEL ?? 'gpt-4o-mini'})` : 'built-in fake model'}; hub: ${env.REDIS_URL ? 'Redis' : 'memory'}. Ctrl+C stops.`,
);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1); // a second Ctrl+C: do not wait
    stopping = true;
    console.log(`\n${signal}: telling clients to reconnect later, then closing...`);
    demo.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
}
