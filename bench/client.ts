/**
 * End-to-end events/s over loopback: a POST stream of 1 million events from a node:http server, in
 * two workloads (BENCH_CLIENT_WORKLOADS): `tokens`, small events (`id: N` and a short JSON line),
 * and `openai`, real OpenAI Chat Completions chunks (about 230 bytes of JSON each, no ids, then
 * `data: [DONE]`), consumed by ssekit's fetchEventStream (iterated with `for await`, and with `onEvent`
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

/** The workloads: each event's text, and what ends the stream. */
const WORKLOADS = {
  tokens: {
    event: (id: number) => `id: ${id}\ndata: {"t":"tok${id % 1000}"}\n\n`,
    end: 'event: done\ndata:\n\n',
  },
  openai: {
    event: (id: number) =>
      `data: {"id":"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT","object":"chat.completion.chunk","created":1764756000,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_0ba0d124f1","choices":[{"index":0,"delta":{"content":" tok${id % 1000}"},"logprobs":null,"finish_reason":null}]}\n\n`,
    end: 'data: [DONE]\n\n',
  },
} as const;
export type ClientWorkload = keyof typeof WORKLOADS;

function startStreamServer(events: number, workload: ClientWorkload): Promise<Server> {
  const { event, end } = WORKLOADS[workload];
  const chunks: Buffer[] = [];
  let text = '';
  for (let id = 1; id <= events; id++) {
    text += event(id);
    if (text.length > 60_000) {
      chunks.push(Buffer.from(text));
      text = '';
    }
  }
  chunks.push(Buffer.from(`${text}${end}`));
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
  const workloads = (process.env.BENCH_CLIENT_WORKLOADS ?? 'tokens,openai').split(',');
  for (const workload of workloads) {
    if (!(workload in WORKLOADS))
      throw new TypeError(
        `BENCH_CLIENT_WORKLOADS: unknown workload ${workload}; use tokens,openai`,
      );
  }
  const results: Record<string, unknown> = {};
  const ssekit = buildSsekit(process.env.BENCH_SSEKIT === 'src');
  try {
    for (const workload of workloads as ClientWorkload[])
      results[workload] = await benchWorkload(options, workload, ssekit);
  } finally {
    ssekit.remove();
  }
  // The first workload's figures at the top level, as the chart reads them.
  writeResults('client', { ...(results[workloads[0]!] as object), workloads: results });
}

async function benchWorkload(
  options: { runs: number; events: number },
  workload: ClientWorkload,
  ssekit: SsekitBuild,
): Promise<Record<string, unknown>> {
  const started = machine();
  const server = await startStreamServer(options.events, workload);
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
    `Client end to end, ${workload}: POST stream of ${options.events} events over loopback, median of ${options.runs} runs, fresh process each; speed = hand-written time / client time`,
    rows,
  );
  return {
    workload,
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
  };
}
