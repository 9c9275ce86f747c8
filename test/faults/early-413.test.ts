/**
 * An early 413 is not lost to a TCP reset: a body larger than the limit is refused before it is
 * read, and the Node adapter closes in stages (RFC 9112 §9.6): the response, then a half-close,
 * then the rest of the upload read and discarded for a bounded time, then the close. A client
 * still uploading reads the 413 every time, instead of a reset it would take for a network error
 * (and upload again).
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { toNodeHandler } from '../../src/adapters/node.ts';
import { jsonErrorResponse, readJsonBody } from '../../src/server/index.ts';
import { startServer, type TestServer } from '../helpers/http-server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startServer(
    toNodeHandler(async (request) => {
      try {
        await readJsonBody(request, { maxBytes: 1_048_576 });
        return Response.json({ ok: true });
      } catch (error) {
        return jsonErrorResponse(error);
      }
    }),
  );
});
afterAll(async () => {
  await server.close();
});

/**
 * A streamed (chunked) upload of `size` bytes, 1 MiB every 5 ms (about 200 MB/s): paced as over a
 * real network, so that it is still being sent when the 413 comes back. (An upload that a loopback
 * socket swallows whole before the server answers hides the reset.)
 */
function upload(size: number): ReadableStream<Uint8Array> {
  const chunk = new Uint8Array(1_048_576).fill(0x20);
  let sent = 0;
  return new ReadableStream({
    async pull(controller) {
      if (sent >= size) {
        controller.close();
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
      controller.enqueue(chunk);
      sent += chunk.byteLength;
    },
  });
}

test('a 50 MB streamed upload, 20 times: the 413 arrives every time', async () => {
  const outcomes: string[] = [];
  for (let attempt = 0; attempt < 20; attempt++) {
    try {
      const response = await fetch(`${server.url}/api/chat`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: upload(50 * 1024 * 1024),
        duplex: 'half',
      } as RequestInit);
      const body = (await response.json()) as { error: { code: string } };
      outcomes.push(`${response.status} ${body.error.code}`);
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause;
      outcomes.push(`failed: ${cause?.code ?? String(error)}`);
    }
  }
  console.log(`413 received ${outcomes.filter((o) => o.startsWith('413')).length} of 20`);
  expect(outcomes).toEqual(Array.from({ length: 20 }, () => '413 payload-too-large'));
}, 120_000);
