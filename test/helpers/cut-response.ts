/**
 * Cuts a Node response at a chosen point, for tests of what a client does with a response cut
 * after its headers (it knows the response, and no event).
 */
import type { ServerResponse } from 'node:http';

/**
 * Sends the response head, then closes its socket: no byte of the body goes
 * out (the body's writes and end are dropped), so the client has the run's id and no event.
 */
export function cutAfterHead(res: ServerResponse): void {
  const flushHeaders = res.flushHeaders.bind(res);
  let cut = false;
  const cutNow = () => {
    if (cut) return;
    cut = true;
    flushHeaders();
    const socket = res.socket!;
    socket.write('', () => socket.destroy()); // once the head is out
  };
  res.flushHeaders = cutNow;
  res.write = (() => {
    cutNow();
    return true;
  }) as typeof res.write;
  res.end = (() => {
    cutNow();
    return res;
  }) as typeof res.end;
}
