/**
 * Checking events against a contract, on both ends: what `send` gets on the server
 * ({@link checkOutgoing}), and what a client receives ({@link decodeIncoming}). A failure is a
 * `ContractError` naming the event and its issues.
 *
 * The wire rule of a contract stream: a string goes as it is when a client cannot mistake it for
 * JSON (`Hel`), and as JSON otherwise (`"42"`, `"true"`, `"{}"`, or a string with a CR, which the
 * protocol would turn into LF); anything else goes as JSON. A client parses the data as JSON, and
 * takes it as a string when it is not JSON. So every value makes the round trip exactly, and
 * token streams stay readable (`data: Hel`).
 *
 * @module
 */
import type { WriterChecks } from '../_internal/checked-writer.ts';
import { ContractError, type ContractIssue } from '../errors.ts';
import type { ServerSentEvent } from '../protocol/types.ts';
import type {
  AnyContract,
  ContractEvent,
  ReservedEventName,
  ValidateMode,
} from './define-contract.ts';
import type { StandardSchemaV1 } from './standard-schema.ts';

/** An event as a producer passes it to `send`. */
export interface OutgoingEvent {
  data?: unknown;
  event?: string | undefined;
  id?: string | number | undefined;
  retry?: number | undefined;
}

const RESERVED: ReadonlySet<string> = new Set<ReservedEventName>(['done', 'error']);

/**
 * Checks an event a producer sends: its name must be in the contract (and not `done` or `error`,
 * which the server writes), its data must match the schema (unless `validate` is `'never'`).
 * Returns the event to write, its data in the contract's wire form; a promise when the schema
 * validates asynchronously. Throws (or rejects with) a `ContractError`.
 */
export function checkOutgoing<Event extends OutgoingEvent>(
  contract: AnyContract,
  event: Event,
  validate: ValidateMode = 'always',
): Event | Promise<Event> {
  const name = event?.event ?? 'message';
  if (RESERVED.has(name)) {
    throw new TypeError(
      `send: "${name}" is written by the server: ${name === 'done' ? 'return its payload from the producer' : 'throw from the producer'} instead of sending it.`,
    );
  }
  const schema = schemaOf(contract, name, event?.data, event?.id);
  const ready = (): Event => ({ ...event, data: toWire(event.data) });
  if (validate === 'never') return ready();
  return settle(schema['~standard'].validate(event.data), name, event.data, event.id, ready);
}

/**
 * Checks what a producer returned against the contract's `done` schema, if it has one. Returns
 * the value unchanged (or a promise of it); throws a `ContractError`.
 */
export function checkResult(
  contract: AnyContract,
  value: unknown,
  validate: ValidateMode = 'always',
): unknown {
  const schema = (contract.events as Record<string, StandardSchemaV1 | undefined>).done;
  if (schema === undefined || validate === 'never') return value;
  return settle(schema['~standard'].validate(value), 'done', value, undefined, () => value);
}

/** Marks an event that a contract with `unknownEvents: 'ignore'` skips. */
export const SKIP: unique symbol = Symbol('ssekit.contract.skip');

/**
 * Decodes a received event: its data parsed (JSON, else the text as is) and validated by the
 * schema of its `type`. Returns the typed event, {@link SKIP} for an unknown event the contract
 * ignores, or a promise of either (an asynchronous schema); throws a `ContractError`.
 */
export function decodeIncoming<C extends AnyContract>(
  contract: C,
  event: ServerSentEvent,
  validate: ValidateMode = 'always',
): ContractEvent<C> | typeof SKIP | Promise<ContractEvent<C> | typeof SKIP> {
  const { type, id } = event;
  const data = fromWire(event.data);
  const schema = (contract.events as Record<string, StandardSchemaV1 | undefined>)[type];
  if (schema === undefined) {
    if (contract.unknownEvents === 'ignore') return SKIP;
    schemaOf(contract, type, data, id); // throws
  }
  const typed = (value: unknown) => ({ type, data: value, id }) as ContractEvent<C>;
  if (validate === 'never' || schema === undefined) return typed(data);
  return settle(schema['~standard'].validate(data), type, data, id, (value) => typed(value));
}

/** Decodes the data of a `done` event by the contract's `done` schema (as is without one). */
export function decodeResult(
  contract: AnyContract,
  event: ServerSentEvent,
  validate: ValidateMode = 'always',
): unknown {
  const data = fromWire(event.data);
  const schema = (contract.events as Record<string, StandardSchemaV1 | undefined>).done;
  if (schema === undefined || validate === 'never') return data;
  return settle(schema['~standard'].validate(data), 'done', data, event.id, (value) => value);
}

/** The data of a contract stream as sent (see the module comment). */
export function toWire(data: unknown): unknown {
  return typeof data === 'string' && (data.includes('\r') || isJson(data))
    ? JSON.stringify(data)
    : data;
}

/** The data of a received event: parsed JSON, else the text as is. */
export function fromWire(text: string): unknown {
  // Most data is JSON; text that is not starts with a letter or a space, which JSON.parse rejects
  // at its first character.
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The message of a `ContractError`: the event, its id, and the first three issues with paths. */
export function describeIssues(
  name: string,
  issues: readonly ContractIssue[],
  id?: string,
): string {
  const where = id ? `Event "${name}" (id ${id})` : `Event "${name}"`;
  const listed = issues.slice(0, 3).map((issue) => {
    const path = (issue.path ?? [])
      .map((step) => String(typeof step === 'object' && step !== null ? step.key : step))
      .join('.');
    return path === '' ? issue.message : `${path}: ${issue.message}`;
  });
  const more = issues.length > 3 ? ` (and ${issues.length - 3} more)` : '';
  return `${where} does not match the contract: ${listed.join('; ')}${more}.`;
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function schemaOf(
  contract: AnyContract,
  name: string,
  data: unknown,
  id: string | number | undefined,
): StandardSchemaV1 {
  const schema = (contract.events as Record<string, StandardSchemaV1 | undefined>)[name];
  if (schema !== undefined) return schema;
  const known = Object.keys(contract.events).filter((key) => !RESERVED.has(key));
  throw new ContractError(
    `Event "${name}" is not in the contract (its events: ${known.join(', ') || 'none'}).`,
    { event: name, issues: [], data, id: id === undefined ? undefined : String(id) },
  );
}

function settle<T>(
  result: StandardSchemaV1.Result<unknown> | Promise<StandardSchemaV1.Result<unknown>>,
  name: string,
  data: unknown,
  id: string | number | undefined,
  ok: (value: unknown) => T,
): T | Promise<T> {
  const finish = (outcome: StandardSchemaV1.Result<unknown>): T => {
    if (outcome.issues) {
      const eventId = id === undefined || id === '' ? undefined : String(id);
      throw new ContractError(describeIssues(name, outcome.issues, eventId), {
        event: name,
        issues: outcome.issues,
        data,
        id: eventId,
      });
    }
    return ok(outcome.value);
  };
  return typeof (result as Partial<PromiseLike<unknown>>).then === 'function'
    ? Promise.resolve(result).then(finish)
    : finish(result as StandardSchemaV1.Result<unknown>);
}

/** The checks of a writer under `contract` (the seam the server and the hub wrap writers with). */
export function writerChecks(
  contract: AnyContract,
  validate: ValidateMode = 'always',
): WriterChecks {
  return {
    event: (event) => checkOutgoing(contract, event, validate),
    result: (value) => checkResult(contract, value, validate),
  };
}
