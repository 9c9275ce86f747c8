/**
 * Hono on Deno: `deno run --allow-net --allow-env --allow-read src/deno.ts`.
 */
import { app } from './app.ts';

Deno.serve(
  {
    hostname: Deno.env.get('HOST') ?? 'localhost',
    port: Number(Deno.env.get('PORT') ?? 3000),
    onListen: ({ hostname, port }) =>
      console.log(`listening on http://${hostname}:${port}/api/chat`),
  },
  app.fetch,
);
