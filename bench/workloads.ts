/** Deterministic event-stream workloads of about `targetBytes` each, for the parser benchmark. */

export interface Workload {
  name: string;
  bytes: Uint8Array;
  /** Events a spec-exact parser dispatches (blocks with data). */
  events: number;
}

function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ASCII = 'abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ.,';
const MIXED = `${ASCII}éü—中文字`;

function word(next: () => number, length: number, alphabet = ASCII): string {
  let out = '';
  for (let index = 0; index < length; index++)
    out += alphabet[Math.floor(next() * alphabet.length)];
  return out;
}

function build(
  name: string,
  targetBytes: number,
  makeBlock: (index: number) => [string, number],
): Workload {
  const parts: string[] = [];
  let size = 0;
  let events = 0;
  for (let index = 0; size < targetBytes; index++) {
    const [block, count] = makeBlock(index);
    parts.push(block);
    size += block.length;
    events += count;
  }
  return { name, bytes: new TextEncoder().encode(parts.join('')), events };
}

export const WORKLOAD_NAMES: readonly string[] = [
  'llm-tokens',
  'llm-tokens-utf8',
  'json-64k',
  'multiline-10',
  'crlf-event-id',
  'half-heartbeats',
];

export function makeWorkload(name: string, targetBytes: number): Workload {
  const workload = makeWorkloads(targetBytes, name)[0];
  if (!workload) throw new Error(`unknown workload ${name}`);
  return workload;
}

export function makeWorkloads(targetBytes: number, only?: string): Workload[] {
  const next = random(42);
  const json64k = `{"rows":[${Array.from({ length: 1200 }, (_, index) => `{"id":${index},"name":"${word(next, 24)}","ok":true}`).join(',')}]}`;
  const all: Array<[string, () => Workload]> = [
    [
      'llm-tokens',
      () =>
        build('llm-tokens', targetBytes, () => [
          `data: {"text":"${word(next, 1 + Math.floor(next() * 8))}","done":false}\n\n`,
          1,
        ]),
    ],
    [
      'llm-tokens-utf8',
      () =>
        build('llm-tokens-utf8', targetBytes, () => [
          `data: {"text":"${word(next, 1 + Math.floor(next() * 8), MIXED)}","done":false}\n\n`,
          1,
        ]),
    ],
    ['json-64k', () => build('json-64k', targetBytes, () => [`data: ${json64k}\n\n`, 1])],
    [
      'multiline-10',
      () =>
        build('multiline-10', targetBytes, () => {
          let block = '';
          for (let line = 0; line < 10; line++)
            block += `data: ${word(next, 20 + Math.floor(next() * 40))}\n`;
          return [`${block}\n`, 1];
        }),
    ],
    [
      'crlf-event-id',
      () =>
        build('crlf-event-id', targetBytes, (index) => [
          `event: update\r\nid: ${index}\r\ndata: {"value":${Math.floor(next() * 1e6)},"label":"${word(next, 12)}"}\r\n\r\n`,
          1,
        ]),
    ],
    [
      'half-heartbeats',
      () =>
        build('half-heartbeats', targetBytes, (index) =>
          index % 2 === 0
            ? [': ping\n\n', 0]
            : [`data: {"n":${index},"v":"${word(next, 10)}"}\n\n`, 1],
        ),
    ],
  ];
  return all.filter(([name]) => only === undefined || name === only).map(([, make]) => make());
}

export function split(bytes: Uint8Array, chunkSize: number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let offset = 0; offset < bytes.length; offset += chunkSize) {
    chunks.push(bytes.subarray(offset, offset + chunkSize));
  }
  return chunks;
}
