/**
 * Ways to cut one byte stream into chunks, for tests that must give the same result however the
 * network splits a response: whole, byte by byte, in two at every index, and in seeded random
 * pieces. Everything is deterministic: a failing case names its chunking and can be replayed.
 */

/** One way of cutting a stream, with a label that says which (for assertion messages). */
export interface Chunking {
  label: string;
  chunks: Uint8Array[];
}

/** Options of {@link chunkings}. */
export interface ChunkingsOptions {
  /** Seeds of the random splits, one chunking each. @default [1, 2, 3, 4, 5, 6, 7, 8] */
  seeds?: readonly number[];
  /** Also cut in two at every index (the costly part for long inputs). @default true */
  everySplit?: boolean;
}

const DEFAULT_SEEDS: readonly number[] = [1, 2, 3, 4, 5, 6, 7, 8];

/**
 * mulberry32: a tiny seeded PRNG with a 32-bit state, good enough to pick split points. Returns
 * a function that yields floats in [0, 1).
 */
export function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer in [min, max] (both inclusive) drawn from `random`. */
export function randomInt(random: () => number, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

/** The stream as one chunk. */
export function whole(bytes: Uint8Array): Uint8Array[] {
  return [bytes];
}

/** One chunk per byte. */
export function byteByByte(bytes: Uint8Array): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let index = 0; index < bytes.length; index++) chunks.push(bytes.subarray(index, index + 1));
  return chunks;
}

/** Two chunks, cut before `index` (0 and `bytes.length` give an empty first or last chunk). */
export function splitAt(bytes: Uint8Array, index: number): Uint8Array[] {
  return [bytes.subarray(0, index), bytes.subarray(index)];
}

/** Cut before each of `indexes` (any order, duplicates and out-of-range values allowed). */
export function splitAtAll(bytes: Uint8Array, indexes: readonly number[]): Uint8Array[] {
  const cuts = [...new Set(indexes)]
    .filter((index) => index > 0 && index < bytes.length)
    .sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const cut of cuts) {
    chunks.push(bytes.subarray(start, cut));
    start = cut;
  }
  chunks.push(bytes.subarray(start));
  return chunks;
}

/**
 * Random pieces of 0 to `maxChunkLength` bytes (empty chunks included on purpose: a reader may
 * deliver them), reproducible from `seed`.
 */
export function randomSplits(bytes: Uint8Array, seed: number, maxChunkLength = 8): Uint8Array[] {
  const random = createRandom(seed);
  const chunks: Uint8Array[] = [];
  let start = 0;
  while (start < bytes.length) {
    const length = randomInt(random, 0, maxChunkLength);
    chunks.push(bytes.subarray(start, start + length));
    start += length;
  }
  return chunks;
}

/**
 * Every chunking a stream must survive: whole, byte by byte, in two at every index (0 to length),
 * and one random split per seed.
 */
export function chunkings(bytes: Uint8Array, options: ChunkingsOptions = {}): Chunking[] {
  const result: Chunking[] = [
    { label: 'whole', chunks: whole(bytes) },
    { label: 'byte by byte', chunks: byteByByte(bytes) },
  ];
  if (options.everySplit ?? true) {
    for (let index = 0; index <= bytes.length; index++) {
      result.push({ label: `split at ${index}`, chunks: splitAt(bytes, index) });
    }
  }
  for (const seed of options.seeds ?? DEFAULT_SEEDS) {
    const maxChunkLength = 1 + (seed % 16);
    result.push({
      label: `random split, seed ${seed}`,
      chunks: randomSplits(bytes, seed, maxChunkLength),
    });
  }
  return result;
}

/** Concatenates byte arrays. */
export function concatBytes(...parts: readonly (Uint8Array | readonly number[])[]): Uint8Array {
  const length = parts.reduce((sum, part) => sum + part.length, 0);
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

const encoder = new TextEncoder();

/**
 * Builds a byte stream from text (UTF-8 encoded) and raw bytes, so invalid sequences can sit
 * between readable lines: `bytesOf('data: ', [0xc0, 0x80], '\n\n')`.
 */
export function bytesOf(
  ...parts: readonly (string | readonly number[] | Uint8Array)[]
): Uint8Array {
  return concatBytes(
    ...parts.map((part) => (typeof part === 'string' ? encoder.encode(part) : part)),
  );
}

/** A readable stream that delivers `chunks` one by one (each pull gives the next chunk). */
export function streamOf<T>(chunks: readonly T[]): ReadableStream<T> {
  let index = 0;
  return new ReadableStream<T>({
    pull(controller) {
      if (index < chunks.length) controller.enqueue(chunks[index++] as T);
      else controller.close();
    },
  });
}

/** What {@link readSettled} read: the values, then how the stream ended. */
export interface Settled<T> {
  values: T[];
  /** `undefined` when the stream closed normally. */
  error: unknown;
}

/** Reads a stream to its end or its error, keeping every value read before the error. */
export async function readSettled<T>(stream: ReadableStream<T>): Promise<Settled<T>> {
  const reader = stream.getReader();
  const values: T[] = [];
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { values, error: undefined };
      values.push(value);
    }
  } catch (error) {
    return { values, error };
  }
}

/** Reads a stream to its end; rejects with its error. */
export async function readAll<T>(stream: ReadableStream<T>): Promise<T[]> {
  const { values, error } = await readSettled(stream);
  if (error !== undefined) throw error;
  return values;
}
