/**
 * A Netlify function (Functions API v2): a Web handler as the default export. Returning a
 * `Response` whose body is a stream makes it a streaming function: no setting needed.
 * Synchronous functions stop after 60 s; the stream ends cleanly before that, with a retry hint.
 */
import type { Config, Context } from '@netlify/functions';
import { createChat } from '../../lib/chat.ts';

const chat = createChat({ maxDurationMs: 55_000 });

export default function handler(request: Request, _context: Context): Promise<Response> {
  return chat(request);
}

export const config: Config = { path: '/api/chat' };
