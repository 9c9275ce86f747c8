import { parseArgs } from 'node:util';

/** A command line the CLI cannot run; `runCli` prints it with a pointer to `--help` (exit 2). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Where the request body comes from: `-d TEXT`, `-d @file` or `-d @-` (stdin). */
export type DataSource =
  | { kind: 'inline'; text: string }
  | { kind: 'file'; path: string }
  | { kind: 'stdin' };

/**
 * How events are printed: readable (coloured on a terminal), NDJSON, the bytes as received, or
 * only the text of token deltas.
 */
export type OutputMode = 'pretty' | 'json' | 'raw' | 'text';

/** What `--contract` names: a module, and optionally one of its exports. */
export interface ContractSpec {
  /** The module's path as given (relative to the working directory). */
  path: string;
  /** The export after `#`; undefined: the default export, or the module's only contract. */
  exportName: string | undefined;
}

/** Splits `./contract.ts#chat` into the path and the export name. Throws a {@link UsageError}. */
export function parseContractSpec(text: string): ContractSpec {
  const hash = text.lastIndexOf('#');
  const path = hash === -1 ? text : text.slice(0, hash);
  const exportName = hash === -1 ? undefined : text.slice(hash + 1);
  if (path === '') throw new UsageError(`--contract ${text}: the module's path is missing.`);
  if (exportName !== undefined && !/^[A-Za-z_$][\w$]*$/.test(exportName)) {
    throw new UsageError(
      `--contract ${text}: "${exportName}" is not an export name (write --contract ./contract.ts#chat).`,
    );
  }
  return { path, exportName };
}

/** A command line, validated. */
export interface CliOptions {
  /** An absolute http(s) URL (`http://` is added when the scheme is missing, as curl does). */
  url: string;
  /** `-X`, upper-cased; undefined means GET, or POST with `-d`. */
  method: string | undefined;
  data: DataSource | undefined;
  /** `-H 'Name: value'` pairs, in order. */
  headers: Array<[name: string, value: string]>;
  output: OutputMode;
  lastEventId: string | undefined;
  /** Reconnections in a row before giving up; 0 turns reconnection off. */
  retries: number | undefined;
  /** Milliseconds, or `'auto'` (learn the stream's cadence). */
  idleTimeoutMs: number | 'auto' | undefined;
  timeoutMs: number | undefined;
  /** `--contract ./contract.ts#name`: check every event against this contract. */
  contract: ContractSpec | undefined;
}

/** What the command line asks for. */
export type CliCommand =
  | { kind: 'help' }
  | { kind: 'version' }
  | { kind: 'stream'; options: CliOptions };

const OPTIONS = {
  request: { type: 'string', short: 'X' },
  data: { type: 'string', short: 'd', multiple: true },
  header: { type: 'string', short: 'H', multiple: true },
  json: { type: 'boolean' },
  raw: { type: 'boolean' },
  text: { type: 'boolean' },
  'last-event-id': { type: 'string' },
  retry: { type: 'string' },
  'idle-timeout': { type: 'string' },
  timeout: { type: 'string' },
  contract: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const;

/** Parses and validates `argv` (without `node` and the script); throws a {@link UsageError}. */
export function parseCliArgs(argv: readonly string[]): CliCommand {
  const { values, positionals } = tokenize(argv);
  if (values.help) return { kind: 'help' };
  if (values.version) return { kind: 'version' };
  if (positionals.length !== 1) {
    throw new UsageError(
      positionals.length === 0
        ? 'Missing the URL.'
        : `Expected one URL, got ${positionals.length}: ${positionals.join(' ')}`,
    );
  }
  const modes = (['json', 'raw', 'text'] as const).filter((mode) => values[mode]);
  if (modes.length > 1) {
    throw new UsageError(`${modes.map((mode) => `--${mode}`).join(' and ')} cannot be combined.`);
  }
  const data = parseData(values.data);
  const method = values.request?.toUpperCase();
  if (method !== undefined && !/^[!#$%&'*+.^`|~\w-]+$/.test(method)) {
    throw new UsageError(`-X ${JSON.stringify(values.request)} is not an HTTP method.`);
  }
  if (data && (method === 'GET' || method === 'HEAD')) {
    throw new UsageError(`-X ${method} cannot send a body (-d); use -X POST or drop -X.`);
  }
  return {
    kind: 'stream',
    options: {
      url: parseUrl(positionals[0]!),
      method,
      data,
      headers: (values.header ?? []).map(parseHeader),
      output: modes[0] ?? 'pretty',
      lastEventId: values['last-event-id'],
      retries: parseInteger('--retry', values.retry, 0, 'reconnections'),
      idleTimeoutMs:
        values['idle-timeout'] === 'auto'
          ? 'auto'
          : parseInteger('--idle-timeout', values['idle-timeout'], 1, 'milliseconds', " or 'auto'"),
      timeoutMs: parseInteger('--timeout', values.timeout, 1, 'milliseconds'),
      contract: values.contract === undefined ? undefined : parseContractSpec(values.contract),
    },
  };
}

function tokenize(argv: readonly string[]) {
  try {
    return parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    // parseArgs reports unknown options and missing values as TypeErrors with a clear message.
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

function parseUrl(text: string): string {
  // Like curl, `localhost:3000/events` means http://localhost:3000/events.
  const withScheme = /^[a-z][a-z\d+.-]*:\/\//i.test(text) ? text : `http://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new UsageError(`Invalid URL: ${text}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`Only http and https URLs are supported, got ${url.protocol} in ${text}`);
  }
  return url.href;
}

function parseData(values: string[] | undefined): DataSource | undefined {
  if (values === undefined) return undefined;
  if (values.length > 1) {
    throw new UsageError(`-d can be given once, got it ${values.length} times.`);
  }
  const text = values[0]!;
  if (text === '@-') return { kind: 'stdin' };
  if (text.startsWith('@')) {
    if (text.length === 1) throw new UsageError('-d @ needs a file name (or @- for stdin).');
    return { kind: 'file', path: text.slice(1) };
  }
  return { kind: 'inline', text };
}

function parseHeader(text: string): [string, string] {
  const colon = text.indexOf(':');
  const name = colon === -1 ? '' : text.slice(0, colon).trim();
  if (!/^[!#$%&'*+.^`|~\w-]+$/.test(name)) {
    throw new UsageError(`-H ${JSON.stringify(text)} is not a header; use -H 'Name: value'.`);
  }
  const value = text.slice(colon + 1).trim();
  if (/[\r\n\0]/.test(value)) {
    throw new UsageError(
      `-H ${JSON.stringify(text)}: a header value cannot contain CR, LF or NUL.`,
    );
  }
  return [name, value];
}

function parseInteger(
  flag: string,
  text: string | undefined,
  min: number,
  unit: string,
  alternative = '',
): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < min) {
    throw new UsageError(
      `${flag} takes a whole number of ${unit} (at least ${min})${alternative}, got ${text}.`,
    );
  }
  return value;
}
