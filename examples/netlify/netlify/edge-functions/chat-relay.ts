/**
 * A Netlify edge function in front of the streaming function: it forwards the request, then
 * relays the event stream without buffering. The edge is where to check auth, rate-limit, or map
 * events; when the browser leaves, the relay cancels the function's stream, which stops it.
 */
import { relayEventStream } from 'ssekit/server';

export default async function relay(request: Request): Promise<Response> {
  const upstream = await fetch(new URL('/api/chat', request.url), {
    method: 'POST',
    headers: { 'content-type': request.headers.get('content-type') ?? 'application/json' },
    body: await request.text(),
    signal: request.signal,
  });
  // The function's JSON errors (400, 413, 415) go back as they are; only streams are relayed.
  if (!upstream.headers.get('content-type')?.startsWith('text/event-stream')) return upstream;
  return relayEventStream(upstream, {
    request,
    // Forward the tokens; drop anything else the function may add later.
    map: (event) => (event.type === 'token' ? { event: 'token', data: event.data } : null),
  });
}

export const config = { path: '/edge/chat' };
