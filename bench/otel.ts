/**
 * `node --import tsx bench/otel.ts`: what observing a stream costs on the server's hot path. One
 * stream of BENCH_EVENTS small events (default 200 000) through `createEventStream`, its body read
 * in process, as events per second (median of BENCH_RUNS, default 5), three ways: no `observe`,
 * a no-op observer (the core's seam alone), and `ssekit/otel` with the real SDK (a span per
 * stream, the counters and the histogram on a meter provider with a reader).
 */
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { createTelemetry } from '../src/otel/index.ts';
import { createEventStream, type ObserveStream } from '../src/server/index.ts';

class Reader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

const events = Number(process.env.BENCH_EVENTS ?? 200_000);
const runs = Number(process.env.BENCH_RUNS ?? 5);

const noop: ObserveStream = () => ({ event() {}, sent() {}, end() {} });
const telemetry = createTelemetry({
  tracerProvider: new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(new InMemorySpanExporter())],
  }),
  meterProvider: new MeterProvider({ readers: [new Reader()] }),
});

async function once(observe: ObserveStream | undefined): Promise<number> {
  const started = performance.now();
  const response = createEventStream(
    new Request('http://bench.test/stream', { method: 'POST' }),
    async (stream) => {
      for (let index = 0; index < events; index++) {
        await stream.send({ event: 'token', data: 'tok' });
      }
    },
    { observe, heartbeatMs: 0 },
  );
  const reader = response.body!.getReader();
  while (!(await reader.read()).done) {}
  return events / ((performance.now() - started) / 1000);
}

const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const variants: Array<[string, ObserveStream | undefined]> = [
  ['no observe', undefined],
  ['no-op observer', noop],
  ['ssekit/otel (SDK)', telemetry.server],
];
const samples = new Map<string, number[]>(variants.map(([name]) => [name, []]));
await once(undefined); // warm up
for (let run = 0; run < runs; run++) {
  // interleaved, so that a noisy neighbour slows every variant alike
  for (const [name, observe] of variants) samples.get(name)!.push(await once(observe));
}
const base = median(samples.get('no observe')!);
for (const [name] of variants) {
  const value = median(samples.get(name)!);
  const rate = Math.round(value).toLocaleString('en').padStart(12);
  console.log(`${name.padEnd(20)} ${rate} events/s  ${((value / base) * 100).toFixed(1)}%`);
}
