/**
 * A Netlify function (Functions API v2): a Web handler as the default export. Returning a
 * `Response` whose body is a stream makes it a streaming function: no setting needed.
 * Synchronous functions stop after 60 s; the stream ends cleanly before that.
 */
import { chat } from '../../../shared/fake-chat.ts';

export default function handler(request: Request): Promise<Response> {
  return chat(request);
}

export const config = { path: '/api/chat' };
