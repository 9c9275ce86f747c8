/**
 * Serves the built page (Vite's output) from the same server as the API, so one port is all the
 * demo needs.
 */
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
};

/** A handler for GET requests of files under `root`; `/` is `index.html`. */
export function createStaticHandler(root: string): (request: Request) => Promise<Response> {
  const base = normalize(root + sep);
  return async (request) => {
    const { pathname } = new URL(request.url);
    const relative = pathname === '/' ? 'index.html' : decodeURIComponent(pathname.slice(1));
    const path = normalize(join(base, relative));
    if (!path.startsWith(base)) return new Response('Not found', { status: 404 });
    let body: Buffer;
    try {
      body = await readFile(path);
    } catch {
      if (pathname === '/') {
        return new Response(
          'The page is not built yet: run `npm start` (it builds it), or `node --import tsx examples/demo/build.ts`.',
          { status: 503, headers: { 'content-type': 'text/plain; charset=utf-8' } },
        );
      }
      return new Response('Not found', { status: 404 });
    }
    // Vite names assets by content hash: they never change, the page itself always may.
    const immutable = relative.startsWith('assets/');
    return new Response(new Uint8Array(body), {
      headers: {
        'content-type': TYPES[extname(path)] ?? 'application/octet-stream',
        'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      },
    });
  };
}
