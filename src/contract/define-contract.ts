/**
 * `defineContract`: a stream's events, named once, with a Standard Schema each; and the types both
 * ends derive from it.
 *
 * @module
 */
import type { StandardSchemaV1 } from './standard-schema.ts';

/** A map from event name to the schema of its data (zod, valibot, arktype, ssekit's own, ...). */
export type EventSchemas = { readonly [event: string]: StandardSchemaV1 };

/**
 * What a client does with an event whose name the contract does not list: `'error'` fails the
 * stream with a `ContractError`; `'ignore'` skips it (forward compatible, for formats that add
 * events over time, as the provider contracts do).
 */
export type UnknownEvents = 'error' | 'ignore';

/** Options of {@link defineContract}. */
export interface ContractOptions {
  /**
   * What a client does with an event the contract does not list.
   * @default 'error'
   */
  unknownEvents?: UnknownEvents | undefined;
  /** A title for generated documents (OpenAPI, AsyncAPI). */
  title?: string | undefined;
  /** A description for generated documents. */
  description?: string | undefined;
}

/**
 * A stream's events: their names and the schemas of their data. Share the one object between the
 * server module and the client (an import, no code generation): the server's `send` and the
 * client's events are typed and checked by it.
 */
export interface EventContract<Events extends EventSchemas = EventSchemas> {
  /** The schema of each event's data, by event name. */
  readonly events: Events;
  /** What a client does with an event the contract does not list. */
  readonly unknownEvents: UnknownEvents;
  readonly title: string | undefined;
  readonly description: string | undefined;
}

/** Any contract (what a function that takes a contract accepts). */
// biome-ignore lint/suspicious/noExplicitAny: any schema map, for constraints
export type AnyContract = EventContract<any>;

/** The event names of a contract. */
export type ContractEventName<C extends AnyContract> = keyof C['events'] & string;

/** Names ssekit's server writes itself: `done` (the producer's result) and `error`. */
export type ReservedEventName = 'done' | 'error';

/** The data an event of the contract carries, as the client gets it (the schema's output). */
export type ContractData<
  C extends AnyContract,
  Name extends ContractEventName<C>,
> = StandardSchemaV1.InferOutput<C['events'][Name]>;

/** The data `send` accepts for an event of the contract (the schema's input). */
export type ContractInput<
  C extends AnyContract,
  Name extends ContractEventName<C>,
> = StandardSchemaV1.InferInput<C['events'][Name]>;

/**
 * One event as a client receives it: a union discriminated by `type`, its `data` parsed and
 * validated. `done` and `error` are not among them (ssekit's terminal events end the stream;
 * `done`'s data is the stream's `result`).
 */
export type ContractEvent<C extends AnyContract> = {
  [Name in Exclude<ContractEventName<C>, ReservedEventName>]: {
    type: Name;
    data: ContractData<C, Name>;
    /** The stream's last event ID at dispatch, as for any event. */
    id: string;
  };
}[Exclude<ContractEventName<C>, ReservedEventName>];

/**
 * One event as the server sends it: `event` names it (optional for `message`, the name of an event
 * without one), `data` is the schema's input. `done` and `error` are written by the server itself.
 */
export type ContractEventInput<C extends AnyContract> = {
  [Name in Exclude<ContractEventName<C>, ReservedEventName>]: Flatten<
    (Name extends 'message' ? { event?: 'message' | undefined } : { event: Name }) & {
      data: ContractInput<C, Name>;
      id?: string | number | undefined;
      retry?: number | undefined;
    }
  >;
}[Exclude<ContractEventName<C>, ReservedEventName>];

/** One object type out of an intersection (readable in editors, comparable in type tests). */
type Flatten<T> = { [K in keyof T]: T[K] } & {};

/** The payload of `done` the producer returns: the `done` schema's input, else anything. */
export type ContractResultInput<C extends AnyContract> =
  'done' extends ContractEventName<C> ? ContractInput<C, 'done'> : unknown;

/** The payload of `done` as the client gets it: the `done` schema's output, else `unknown`. */
export type ContractResult<C extends AnyContract> =
  'done' extends ContractEventName<C> ? ContractData<C, 'done'> : unknown;

/**
 * Whether events are checked against their schemas: `'always'`, or `'never'` (types only, and
 * the data as sent). Universal code cannot tell development from production by itself (no
 * `process` in a browser or a worker), so "in development only" is your expression, which your
 * bundler folds: `validate: import.meta.env.DEV ? 'always' : 'never'` or
 * `validate: process.env.NODE_ENV === 'production' ? 'never' : 'always'`.
 */
export type ValidateMode = 'always' | 'never';

/**
 * Defines a stream's events once: a map from event name to a Standard Schema of its data. Share the
 * returned object between server and client: `createEventStream(request, producer, { contract })`
 * types and checks what the producer sends, `fetchContractStream(url, { contract })` yields a union
 * of typed events, `useEventStream(url, { contract })` renders them.
 *
 * A `done` entry types the producer's return value (the payload of ssekit's `done` event) and the
 * client's `result`. `message` is the name of events sent without `event`.
 *
 * @example
 * ```ts
 * import { defineContract } from 'ssekit/contract';
 * import { z } from 'zod';
 *
 * export const chat = defineContract({
 *   token: z.object({ text: z.string() }),
 *   usage: z.object({ inputTokens: z.number(), outputTokens: z.number() }),
 *   done: z.object({ finishReason: z.enum(['stop', 'length']) }),
 * });
 * ```
 */
export function defineContract<const Events extends EventSchemas>(
  events: Events,
  options: ContractOptions = {},
): EventContract<Events> {
  if (events === null || typeof events !== 'object' || Array.isArray(events)) {
    throw new TypeError(
      'defineContract: pass an object mapping event names to schemas, e.g. { token: z.string() }.',
    );
  }
  for (const [name, schema] of Object.entries(events)) {
    if (name === '' || /[\r\n]/.test(name)) {
      throw new TypeError(
        `defineContract: ${JSON.stringify(name)} cannot be an event name (empty, or a line break).`,
      );
    }
    if (
      typeof (schema as Partial<StandardSchemaV1> | null)?.['~standard']?.validate !== 'function'
    ) {
      throw new TypeError(
        `defineContract: the schema of "${name}" is not a Standard Schema (zod 3.24+, valibot 1, arktype 2, ...): it has no ~standard.validate.`,
      );
    }
  }
  const unknownEvents = options.unknownEvents ?? 'error';
  if (unknownEvents !== 'error' && unknownEvents !== 'ignore') {
    throw new TypeError(
      `defineContract: unknownEvents must be 'error' or 'ignore', got ${String(unknownEvents)}.`,
    );
  }
  return Object.freeze({
    events,
    unknownEvents,
    title: options.title,
    description: options.description,
  });
}

/** Throws a `TypeError` unless `value` is a contract made by {@link defineContract}. @internal */
export function assertContract(value: unknown, where: string): asserts value is AnyContract {
  const events = (value as Partial<AnyContract> | null)?.events;
  if (events === null || typeof events !== 'object') {
    throw new TypeError(
      `${where}: contract must be made by defineContract() from ssekit/contract.`,
    );
  }
}
