/**
 * The one error hierarchy of ssekit. Every error the package raises on purpose is an
 * {@link SsekitError} with a `code` from {@link SsekitErrorCode}; programmer mistakes (a bad option,
 * a CR in an event name) are plain `TypeError`s instead, and cancellation is never an error: it
 * rejects with `signal.reason`.
 *
 * `instanceof` breaks when two copies of the package are loaded (a bundled copy and a
 * node_modules copy, say), so each class also has a static `isInstance()` that checks a
 * `Symbol.for` marker shared by every copy.
 *
 * @module
 */

/**
 * What went wrong, as a kebab-case string union.
 *
 * - `event-too-large`: a line or an event grew past `maxEventSize` (parser).
 */
export type SsekitErrorCode = 'event-too-large';

const baseMarker: symbol = Symbol.for('ssekit.error');

/** Options every ssekit error accepts. */
export interface SsekitErrorOptions {
  /** The underlying error, if any. */
  cause?: unknown;
}

/**
 * Base class of every error ssekit raises on purpose.
 *
 * @example
 * ```ts
 * import { SsekitError } from 'ssekit';
 *
 * try {
 *   parser.feed(chunk);
 * } catch (error) {
 *   if (SsekitError.isInstance(error)) console.error(error.code, error.message);
 * }
 * ```
 */
export class SsekitError extends Error {
  /** What went wrong. */
  readonly code: SsekitErrorCode;

  constructor(code: SsekitErrorCode, message: string, options?: SsekitErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SsekitError';
    this.code = code;
    mark(this, baseMarker);
  }

  /** True for any ssekit error, even one made by another copy of the package. */
  static isInstance(value: unknown): value is SsekitError {
    return hasMarker(value, baseMarker);
  }
}

const parseMarker: symbol = Symbol.for('ssekit.error.parse');

/**
 * The event stream could not be decoded within its limits: a line or an event is larger than
 * `maxEventSize`. The offending event is skipped; everything before and after it is delivered.
 */
export class ParseError extends SsekitError {
  /** The limit that was exceeded, in UTF-16 code units. */
  readonly limit: number;

  constructor(message: string, limit: number, options?: SsekitErrorOptions) {
    super('event-too-large', message, options);
    this.name = 'ParseError';
    this.limit = limit;
    mark(this, parseMarker);
  }

  /** True for a {@link ParseError}, even one made by another copy of the package. */
  static override isInstance(value: unknown): value is ParseError {
    return hasMarker(value, parseMarker);
  }
}

function hasMarker(value: unknown, marker: symbol): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<symbol, unknown>)[marker] === true
  );
}

function mark(error: Error, marker: symbol): void {
  Object.defineProperty(error, marker, { value: true });
}
