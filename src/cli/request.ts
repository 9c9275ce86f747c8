import { readFile } from 'node:fs/promises';
import { concatBytes } from '../_internal/bytes.ts';
import { type CliOptions, type DataSource, UsageError } from './args.ts';
import { describeError, parseJson } from './format.ts';

/** What the request needs from the outside world (injectable for tests). */
export interface RequestIo {
  /** Read by `-d @-`. */
  stdin?: AsyncIterable<Uint8Array | string> | undefined;
  /** Reads `-d @file`. @default node:fs/promises readFile */
  readFile?: ((path: string) => Promise<Uint8Array>) | undefined;
}

/** The method, headers and body of the request a command line describes. */
export interface RequestParts {
  method: string;
  headers: Headers;
  body: string | Uint8Array<ArrayBuffer> | null;
}

/**
 * Builds the request: `-d` implies POST; data that parses as JSON is sent as
 * `application/json`, other UTF-8 text as fetch's `text/plain;charset=UTF-8`, anything else as
 * `application/octet-stream`, unless `-H` sets a content type. Throws a {@link UsageError} for a
 * header fetch refuses or a file that cannot be read.
 */
export async function buildRequest(options: CliOptions, io: RequestIo): Promise<RequestParts> {
  const headers = new Headers();
  for (const [name, value] of options.headers) {
    try {
      headers.append(name, value);
    } catch (error) {
      throw new UsageError(`-H '${name}: ${value}': ${describeError(error)}`);
    }
  }
  const method = options.method ?? (options.data ? 'POST' : 'GET');
  if (!options.data) return { method, headers, body: null };
  const body = await readData(options.data, io);
  if (!headers.has('content-type')) {
    if (typeof body !== 'string') headers.set('content-type', 'application/octet-stream');
    else if (parseJson(body).ok) headers.set('content-type', 'application/json');
  }
  return { method, headers, body };
}

/** The data as text when it is valid UTF-8, else as bytes. */
async function readData(
  source: DataSource,
  io: RequestIo,
): Promise<string | Uint8Array<ArrayBuffer>> {
  if (source.kind === 'inline') return source.text;
  let bytes: Uint8Array;
  if (source.kind === 'stdin') {
    if (!io.stdin) throw new UsageError('-d @-: there is no stdin to read.');
    bytes = await readAll(io.stdin);
  } else {
    try {
      bytes = await (io.readFile ?? readFile)(source.path);
    } catch (error) {
      throw new UsageError(`-d @${source.path}: cannot read the file: ${describeError(error)}`);
    }
  }
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return new Uint8Array(bytes); // Not UTF-8 text: sent as it is.
  }
}

async function readAll(stream: AsyncIterable<Uint8Array | string>): Promise<Uint8Array> {
  const encoder = new TextEncoder();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const bytes = typeof chunk === 'string' ? encoder.encode(chunk) : chunk;
    chunks.push(bytes);
    size += bytes.length;
  }
  return concatBytes(chunks, size);
}
