import type { ServerSentEvent } from '../protocol/types.ts';

/** The environment variables the CLI reads. */
export type CliEnv = Readonly<Record<string, string | undefined>>;

/**
 * Whether to colour a stream: FORCE_COLOR wins (`0` or `false` turns colour off), then NO_COLOR
 * (any non-empty value), then a terminal that is not `TERM=dumb`. Node's own rules.
 * @see https://no-color.org/
 * @see https://nodejs.org/api/cli.html#force_color1-2-3
 */
export function colorEnabled(isTTY: boolean | undefined, env: CliEnv): boolean {
  const force = env.FORCE_COLOR;
  if (force !== undefined) return force !== '0' && force !== 'false';
  if (env.NO_COLOR) return false;
  return isTTY === true && env.TERM !== 'dumb';
}

/** The styles the CLI uses. */
export type Style = 'bold' | 'dim' | 'red' | 'green' | 'yellow' | 'magenta' | 'cyan' | 'boldCyan';

/** Wraps text in an SGR style when colour is on. */
export type Paint = (style: Style, text: string) => string;

// SGR parameters that set and reset each style.
const STYLES: Record<Style, readonly [open: string, close: string]> = {
  bold: ['1', '22'],
  dim: ['2', '22'],
  red: ['31', '39'],
  green: ['32', '39'],
  yellow: ['33', '39'],
  magenta: ['35', '39'],
  cyan: ['36', '39'],
  boldCyan: ['1;36', '39;22'],
};

/** A painter that colours when `enabled` and passes text through otherwise. */
export function createPaint(enabled: boolean): Paint {
  if (!enabled) return (_style, text) => text;
  return (style, text) => {
    if (text === '') return text;
    const [open, close] = STYLES[style];
    return `\x1b[${open}m${text}\x1b[${close}m`;
  };
}

/** How an event is rendered for a person. */
export interface PrettyOptions {
  /** Colours (see {@link colorEnabled}). */
  paint: Paint;
  /**
   * On a terminal: JSON data is indented, and control characters a server sent are shown as
   * `\x1b` escapes instead of reaching the terminal (where they could move the cursor, say).
   */
  terminal: boolean;
}

/**
 * An event for a person: the type (and id, when there is one) on a line, the data below it (if
 * any), then a blank line.
 *
 * @example
 * ```text
 * token  id: 3
 * {"text":"Hi"}
 * ```
 */
export function formatPretty(event: ServerSentEvent, options: PrettyOptions): string {
  const { paint, terminal } = options;
  const clean = terminal ? escapeControls : (text: string) => text;
  const id = event.id === '' ? '' : `  ${paint('dim', `id: ${clean(event.id)}`)}`;
  const header = `${paint('boldCyan', clean(event.type))}${id}\n`;
  // An event without data (`event: done` often) is its header alone.
  if (event.data === '') return `${header}\n`;
  const data = terminal ? prettyJson(event.data, paint) : undefined;
  return `${header}${data ?? clean(event.data)}\n\n`;
}

/**
 * An event as one NDJSON line: `{"type","id","data"}`, plus `json` (the data parsed) when the data
 * is JSON.
 */
export function formatJsonLine(event: ServerSentEvent): string {
  const line: { type: string; id: string; data: string; json?: unknown } = {
    type: event.type,
    id: event.id,
    data: event.data,
  };
  const parsed = parseJson(event.data);
  if (parsed.ok) line.json = parsed.value;
  return `${JSON.stringify(line)}\n`;
}

/** Parses JSON without throwing. */
export function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false }; // Not JSON: the caller keeps the text.
  }
}

/** Indented, coloured JSON for objects and arrays; undefined for anything else. */
function prettyJson(data: string, paint: Paint): string | undefined {
  const parsed = parseJson(data);
  if (!parsed.ok || typeof parsed.value !== 'object' || parsed.value === null) return undefined;
  return renderJson(parsed.value, '', paint);
}

function renderJson(value: unknown, indent: string, paint: Paint): string {
  if (value === null || typeof value === 'boolean') return paint('magenta', String(value));
  if (typeof value === 'number') return paint('yellow', String(value));
  if (typeof value === 'string') return paint('green', escapeControls(JSON.stringify(value)));
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    const items = value.map((item) => `${inner}${renderJson(item, inner, paint)}`);
    return `[\n${items.join(',\n')}\n${indent}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return '{}';
  const items = entries.map(
    ([key, item]) =>
      `${inner}${paint('cyan', escapeControls(JSON.stringify(key)))}: ${renderJson(item, inner, paint)}`,
  );
  return `{\n${items.join(',\n')}\n${indent}}`;
}

/** C0 controls (but tab and line feed), DEL and C1 controls as visible `\xNN` escapes. */
export function escapeControls(text: string): string {
  return text.replace(
    /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g,
    (char) => `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}

/** An error's message, with its cause's (fetch hides the reason of a network error there). */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? error.cause.message : undefined;
  return cause && !error.message.includes(cause) ? `${error.message} (${cause})` : error.message;
}
