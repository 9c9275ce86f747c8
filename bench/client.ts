/**
 * End-to-end events/s over loopback: a POST stream of 1 million small events from a node:http
 * server, consumed by ssekit's fetchEventStream (iterated with `for await`, and with `onEvent`
 * callbacks, which spare the promise per event), by a hand-written getReader() + eventsource-parser
 * loop (what people write by hand), and by @microsoft/fetch-event-source (which needs `window` and
 * `document` shims in Node). Each consumer runs in a fresh process; the server runs here. ssekit
 * runs as users run it, compiled by tsc (BENCH_SSEKIT=src: src/ through tsx, which adds a
 * `__name` helper call to every named closure).
 */
import { fork } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildSsekit, type SsekitBuild } from './fanout-measure.ts';
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

interface ClientTime {
  wallMs: number;
  cpuMs: number;
}

function timeClient(
  client: string,
  url: string,
  events: number,
  ssekit: SsekitBuild,
): Promise<ClientTime> {
  return new Promise((resolve, reject) => {
    const child = fork(
      new URL('./client-worker.ts', import.meta.url),
      [client, url, String(events), ssekit.base, ssekit.ext],
      {
        execArgv: ['--import', 'tsx'],
      },
    );
    child.once('message', (message) => resolve(message as ClientTime));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`${client} benchmark process exited with ${code}`));
    });
  });
}

/**
 * Runs every client `runs` times, interleaved run by run (so that drift on the machine hits them
 * all alike), each in a fresh process. The ratio to the hand-written loop is taken from the median
 * CPU time of the client process (its own work: a busy machine inflates wall-clock times by
 * however long the process waited for a core); wall-clock medians are printed and saved too.
 */
export async function benchClient(options: { runs: number; events: number }): Promise<void> {
  const started = machine();
  const server = await startStreamServer(options.events);
  const ssekit = buildSsekit(process.env.BENCH_SSEKIT === 'src');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const cpu: Record<string, number[]> = Object.fromEntries(CLIENTS.map((client) => [client, []]));
  const wall: Record<string, number[]> = Object.fromEntries(CLIENTS.map((client) => [client, []]));
  try {
    for (let run = 0; run < options.runs; run++) {
      const order = [
        ...CLIENTS.slice(run % CLIENTS.length),
        ...CLIENTS.slice(0, run % CLIENTS.length),
      ];
      for (const client of order) {
        const time = await timeClient(client, url, options.events, ssekit);
        cpu[client]!.push(time.cpuMs);
        wall[client]!.push(time.wallMs);
      }
    }
  } finally {
    server.close();
    ssekit.remove();
  }
  const cpuMedians = Object.fromEntries(CLIENTS.map((client) => [client, median(cpu[client]!)]));
  const wallMedians = Object.fromEntries(CLIENTS.map((client) => [client, median(wall[client]!)]));
  const speed = (client: string) => cpuMedians['hand-written']! / cpuMedians[client]!;
  const wallSpeed = (client: string) => wallMedians['hand-written']! / wallMedians[client]!;
  const rows: Row[] = CLIENTS.map((client) => ({
    client,
    'events/s (CPU)': `${(options.events / cpuMedians[client]! / 1000).toFixed(2)} M`,
    'CPU s': (cpuMedians[client]! / 1000).toFixed(2),
    'wall s': (wallMedians[client]! / 1000).toFixed(2),
    'speed vs hand-written, CPU (ssekit >= 0.9)': client.startsWith('ssekit')
      ? verdict(speed(client), 0.9, 'at-least')
      : speed(client).toFixed(2),
    'same, wall clock': wallSpeed(client).toFixed(2),
  }));
  printTable(
    `Client end to end: POST stream of ${options.events} events over loopback, median of ${options.runs} runs, fresh process each; speed = hand-written time / client time`,
    rows,
  );
  writeResults('client', {
    machine: started,
    events: options.events,
    runs: options.runs,
    cpuMs: cpu,
    wallMs: wall,
    cpuMedians,
    wallMedians,
    speedVsHandWritten: Object.fromEntries(CLIENTS.map((client) => [client, speed(client)])),
    wallSpeedVsHandWritten: Object.fromEntries(
      CLIENTS.map((client) => [client, wallSpeed(client)]),
    ),
    loadAverageAfter: machine().loadAverage,
  });
}
