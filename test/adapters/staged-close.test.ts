/**
 * The Node adapter's staged close (RFC 9112 §9.6) seen on a raw socket: a 413 answered before the
 * body was read comes with `connection: close`, then a FIN (not a reset), and the server goes on
 * reading and discarding what the client still sends until the client is done, then closes. The
 * full 20 x 50 MB run with `fetch` is in test/faults/early-413.test.ts.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { toNodeHandler } from '../../src/adapters/node.ts';
import { jsonErrorResponse, readJsonBody } from '../../src/server/index.ts';
import { startServer, type TestServer } from '../helpers/http-server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startServer(
    toNodeHandler(async (request) => {
      try {
        return Response.json(await readJsonBody(request, { maxBytes: 65_536 }));
      } catch (error) {
        return jsonErrorResponse(error);
      }
    }),
  );
});
afterAll(async () => {
  await server.close();
});

const chunk = (size: number) => `${size.toString(16)}\r\n${' '.repeat(size)}\r\n`;

test('the 413, then a half-close; what the client still sends is drained, no reset', async () => {
  // Half-open allowed, as HTTP clients do: the server's FIN must not end our sending.
  const socket = connect({ port: server.port, host: '127.0.0.1', allowHalfOpen: true });
  socket.write(
    'POST /api HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n',
  );
  let received = '';
  const errors: string[] = [];
  socket.on('data', (data: Buffer) => {
    received += data.toString('latin1');
  });
  socket.on('error', (error: NodeJS.ErrnoException) => errors.push(error.code ?? error.message));
  const ended = new Promise<void>((resolve) => socket.once('end', () => resolve()));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  for (let index = 0; index < 4; index++) socket.write(chunk(32_768)); // past the limit
  await ended; // the server's FIN, after the whole response
  expect(received).toMatch(/^HTTP\/1\.1 413 Payload Too Large\r\n/);
  expect(received.toLowerCase()).toContain('\r\nconnection: close\r\n');
  expect(received).toContain('"code":"payload-too-large"');
  // Still uploading after the response: read and discarded, no reset.
  for (let index = 0; index < 64; index++) socket.write(chunk(32_768));
  await new Promise((resolve) => setTimeout(resolve, 50));
  socket.end('0\r\n\r\n');
  await closed;
  expect(errors).toEqual([]);
});

test('a complete small body still gets its answer on a kept-alive connection', async () => {
  const response = await fetch(`${server.url}/api`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"a":1}',
  });
  expect([response.status, await response.json()]).toEqual([200, { a: 1 }]);
});
