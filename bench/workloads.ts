/**
 * Deterministic event-stream workloads of about `targetBytes` each for the decoder benchmark, the
 * expected result of each (events, total length of `type` + `data` + `id`, a hash of every
 * event's fields), and the ways the benchmark cuts them into chunks.
 */

export interface Workload {
  name: string;
  bytes: Uint8Array;
  /** Events a spec-exact parser dispatches (blocks with data). */
  events: number;
  /** Sum over the events of `type.length + data.length + id.length`. */
  size: number;
  /** {@link hashEvent} folded over the events, in order, from {@link HASH_SEED}. */
  hash: number;
}

/** What a workload's generator writes for one block: its text and the event it dispatches. */
interface Block {
  text: string;
  event?: { type: string; data: string; id?: string };
}

export const HASH_SEED = 0x811c9dc5;

/** FNV-1a over the fields of one event (with separators), continuing from `hash`. */
export function hashEvent(hash: number, type: string, data: string, id: string): number {
  let h = hash;
  for (const text of [type, data, id]) {
    for (let index = 0; index < text.length; index++) {
      h = Math.imul(h ^ text.charCodeAt(index), 0x01000193);
    }
    h = Math.imul(h ^ 0xffff, 0x01000193);
  }
  return h >>> 0;
}

/** mulberry32: a seeded PRNG, floats in [0, 1). */
export function random(seed: number): () => number {
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

function word(next: () => number, length: number): string {
  let out = '';
  for (let index = 0; index < length; index++) out += ASCII[Math.floor(next() * ASCII.length)];
  return out;
}

function pick<T>(next: () => number, items: readonly T[]): T {
  return items[Math.floor(next() * items.length)]!;
}

/**
 * Sub-word tokens as a chat model streams them, in several languages: English, accented Latin
 * (2-byte UTF-8), Cyrillic, Greek, CJK and Devanagari (3 bytes), emoji (4 bytes, with ZWJ
 * sequences, skin tones and flags), and typographic punctuation (curly quotes, dashes).
 */
const TOKENS = {
  english: [' the', ' model', ' stream', 'ing', ' of', ' tokens', ' is', ' fast', '.', ',', ' a'],
  latin: [' déjà', ' très', ' été', ' über', ' schön', ' Straße', ' niño', ' año', ' ação', 'ção'],
  cyrillic: [' привет', ' мир', 'ский', ' как', ' дела', ' поток', ' данных'],
  greek: [' γειά', ' σου', ' κόσμε', 'ία'],
  cjk: ['你好', '世界', '模型', '的', '数据', '流', 'こんにちは', '東京', 'です', '안녕', '하세요'],
  indic: [' नमस्ते', ' दुनिया', 'ों'],
  emoji: [' 🚀', '😀', ' 👍🏽', '🇫🇷', ' ❤️', '👩‍💻', '🎉'],
  punctuation: ['“', '”', ' —', '…', '’s', ' «', '»'],
} as const;
const LANGUAGES = Object.keys(TOKENS) as (keyof typeof TOKENS)[];

/** One token: a third English, the rest spread over the other scripts. */
function multilingualToken(next: () => number): string {
  if (next() < 1 / 3) return pick(next, TOKENS.english);
  return pick(next, TOKENS[pick(next, LANGUAGES)]);
}

function build(name: string, targetBytes: number, makeBlock: (index: number) => Block): Workload {
  const parts: string[] = [];
  let length = 0;
  let events = 0;
  let size = 0;
  let hash = HASH_SEED;
  let lastId = '';
  for (let index = 0; length < targetBytes; index++) {
    const block = makeBlock(index);
    parts.push(block.text);
    length += block.text.length;
    if (block.event) {
      const { type, data, id = lastId } = block.event;
      lastId = id;
      events++;
      size += type.length + data.length + id.length;
      hash = hashEvent(hash, type, data, id);
    }
  }
  return { name, bytes: new TextEncoder().encode(parts.join('')), events, size, hash };
}

function message(data: string, extra: Partial<{ type: string; id: string }> = {}) {
  return { type: 'message', data, ...extra };
}

/** The workloads of the issue's table, plus ASCII LLM tokens (the fresh-process claim). */
export const WORKLOAD_NAMES: readonly string[] = [
  'llm-tokens',
  'llm-tokens-multilingual',
  'json-64k',
  'multiline-10',
  'crlf-event-id',
  'half-heartbeats',
];

const GENERATORS: Record<string, (targetBytes: number, next: () => number) => Workload> = {
  // OpenAI-style deltas are larger, but the shape is the same: one short JSON data line per event.
  'llm-tokens': (target, next) =>
    build('llm-tokens', target, () => {
      const data = JSON.stringify({ text: word(next, 1 + Math.floor(next() * 8)), done: false });
      return { text: `data: ${data}\n\n`, event: message(data) };
    }),
  'llm-tokens-multilingual': (target, next) =>
    build('llm-tokens-multilingual', target, () => {
      const data = JSON.stringify({ text: multilingualToken(next), done: false });
      return { text: `data: ${data}\n\n`, event: message(data) };
    }),
  'json-64k': (target, next) => {
    const rows = Array.from({ length: 1200 }, (_, index) => ({
      id: index,
      name: word(next, 24),
      ok: true,
    }));
    const data = JSON.stringify({ rows });
    return build('json-64k', target, () => ({ text: `data: ${data}\n\n`, event: message(data) }));
  },
  'multiline-10': (target, next) =>
    build('multiline-10', target, () => {
      const lines = Array.from({ length: 10 }, () => word(next, 20 + Math.floor(next() * 40)));
      return {
        text: `${lines.map((line) => `data: ${line}\n`).join('')}\n`,
        event: message(lines.join('\n')),
      };
    }),
  'crlf-event-id': (target, next) =>
    build('crlf-event-id', target, (index) => {
      const data = JSON.stringify({ value: Math.floor(next() * 1e6), label: word(next, 12) });
      return {
        text: `event: update\r\nid: ${index}\r\ndata: ${data}\r\n\r\n`,
        event: { type: 'update', data, id: String(index) },
      };
    }),
  'half-heartbeats': (target, next) =>
    build('half-heartbeats', target, (index) => {
      if (index % 2 === 0) return { text: ': ping\n\n' };
      const data = JSON.stringify({ n: index, v: word(next, 10) });
      return { text: `data: ${data}\n\n`, event: message(data) };
    }),
};

export function makeWorkload(name: string, targetBytes: number): Workload {
  const generate = GENERATORS[name];
  if (!generate) throw new Error(`unknown workload ${name}`);
  return generate(targetBytes, random(42));
}

/**
 * One line of `megabytes` MiB of multilingual text (`data: ` + tokens, then a blank line): one
 * event whose data is the whole line, for the linearity check.
 */
export function makeHugeLine(megabytes: number): Workload {
  const next = random(7);
  const tokens: string[] = [];
  let length = 0;
  while (length < megabytes * 1024 * 1024) {
    const token = multilingualToken(next);
    tokens.push(token);
    length += token.length * 2; // about the UTF-8 size of a mixed token
  }
  const data = tokens.join('');
  const hash = hashEvent(HASH_SEED, 'message', data, '');
  return {
    name: `huge-line-${megabytes}MiB`,
    bytes: new TextEncoder().encode(`data: ${data}\n\n`),
    events: 1,
    size: 'message'.length + data.length,
    hash,
  };
}

/** Chunks of exactly `size` bytes (the last may be shorter). */
export function fixedChunks(bytes: Uint8Array, size: number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let offset = 0; offset < bytes.length; offset += size) {
    chunks.push(bytes.subarray(offset, offset + size));
  }
  return chunks;
}

/**
 * Chunks whose sizes are drawn uniformly from `min` to `max` bytes (both inclusive), cut
 * anywhere: inside lines, CRLF pairs and multi-byte characters, as a network delivers them.
 */
export function randomChunks(
  bytes: Uint8Array,
  min: number,
  max: number,
  seed: number,
): Uint8Array[] {
  const next = random(seed);
  const chunks: Uint8Array[] = [];
  for (let offset = 0; offset < bytes.length; ) {
    const size = min + Math.floor(next() * (max - min + 1));
    chunks.push(bytes.subarray(offset, offset + size));
    offset += size;
  }
  return chunks;
}

/** Random chunk sizes around `mean`: from half of it to one and a half times it. */
export function chunksAround(bytes: Uint8Array, mean: number, seed = 1): Uint8Array[] {
  return randomChunks(bytes, Math.ceil(mean / 2), Math.floor((mean * 3) / 2), seed);
}
