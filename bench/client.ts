/**
 * End-to-end events/s over loopback: a POST stream of 1 million small events from a node:http
 * server, consumed by ssekit's fetchEventStream (iterated with `for await`, and with `onEvent`
 * callbacks, which spare the promise per event), by a hand-written getReader() + eventsource-parser
 * loop (what people write by hand), and by @microsoft/fetch-event-source (which needs `window` and
 * `document` shims in Node). Each consumer runs in a fresh process; the server runs here.
 */
import { fork } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { machine, median, printTable, type Row, verdict, writeResults } from './report.ts';

export const CLIENTS = [
  'ssekit',
  'ssekit (onEvent)',
  'hand-written',
  'fetch-event-source',
] as const;

function startStreamServer(events: number): Promise<Server> {
  const chunks: Buffer[] = [];
  let text = '';
  for (let id = 1; id <= events; id++) {
    text += `id: ${id}\ndata: {"t":"tok${id % 1000}"}\n\n`;
    if (text.length > 60_000) {
      chunks.push(Buffer.from(text));
      text = '';
    }
  }
  chunks.push(Buffer.from(`${text}event: done\ndata:\n\n`));
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      let index = 0;
      const pump = () => {
        while (index < chunks.length) {
          if (!res.write(chunks[index++])) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      pump();
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function timeClient(client: string, url: string, events: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = fork(
      new URL('./client-worker.ts', import.meta.url),
      [client, url, String(events)],
      {
        execArgv: ['--import', 'tsx'],
      },
    );
    child.once('message', (message) => resolve(message as number));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`${client} benchmark process exited with ${code}`));
    });
  });
}

export async function benchClient(options: { runs: number; events: number }): Promise<void> {
  const started = machine();
  const server = await startStreamServer(options.events);
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const times: Record<string, number> = {};
  const samples: Record<string, number[]> = Object.fromEntries(
    CLIENTS.map((client) => [client, []]),
  );
  try {
    // Clients interleaved run by run, so that drift on the machine hits them all alike.
    for (let run = 0; run < options.runs; run++) {
      for (const client of CLIENTS)
        samples[client]!.push(await timeClient(client, url, options.events));
    }
    for (const client of CLIENTS) times[client] = median(samples[client]!);
  } finally {
    server.close();
  }
  const rows: Row[] = CLIENTS.map((client) => ({
    client,
    'events/s': `${(options.events / times[client]! / 1000).toFixed(2)} M`,
    seconds: (times[client]! / 1000).toFixed(2),
    'speed vs hand-written (ssekit >= 0.9)': client.startsWith('ssekit')
      ? verdict(times['hand-written']! / times[client]!, 0.9, 'at-least')
      : (times['hand-written']! / times[client]!).toFixed(2),
  }));
  printTable(
    `Client end to end: POST stream of ${options.events} events over loopback, median of ${options.runs} wall-clock runs, fresh process each`,
    rows,
  );
  writeResults('client', {
    machine: started,
    events: options.events,
    runs: options.runs,
    samplesMs: samples,
    mediansMs: times,
    speedVsHandWritten: Object.fromEntries(
      CLIENTS.map((client) => [client, times['hand-written']! / times[client]!]),
    ),
    loadAverageAfter: machine().loadAverage,
  });
}
