/**
 * Next.js App Router: `app/api/chat/route.ts`. Web `Request` in, Web `Response` out: no adapter.
 */
import { createChat } from '../../../lib/chat';

// Stream from the Node.js runtime (full Node APIs, longer limits than edge); 'edge' works too,
// since ssekit/server uses Web APIs only.
export const runtime = 'nodejs';
// Never cache or pre-render an event stream.
export const dynamic = 'force-dynamic';
// Vercel: the most seconds the function may run (plan limits apply); keep maxDurationMs below it.
export const maxDuration = 60;

// One word every 50 ms, like a model would; the stream ends cleanly before maxDuration.
const chat = createChat({ delayMs: 50, maxDurationMs: 55_000 });

export function POST(request: Request): Promise<Response> {
  return chat(request);
}
