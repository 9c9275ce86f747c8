/**
 * A few Standard Schema builders, enough to describe the provider formats without a schema
 * library at run time: each schema validates (`~standard.validate`, synchronous) and converts
 * itself to JSON Schema (`~standard.jsonSchema`, Standard JSON Schema), so the provider contracts
 * are checked by the client and described in OpenAPI and AsyncAPI documents like zod schemas are.
 *
 * Objects are open: keys they do not name pass through untouched (providers add fields), and the
 * output is the input value itself (no copy, no stripping).
 *
 * @module
 */
import type { StandardJSONSchemaV1, StandardSchemaV1 } from './standard-schema.ts';

/** A schema of ssekit's builders: Standard Schema and Standard JSON Schema at once. */
export interface Schema<T> extends StandardSchemaV1<T>, StandardJSONSchemaV1<T> {
  readonly '~standard': StandardSchemaV1.Props<T> & StandardJSONSchemaV1.Props<T>;
  /** @internal */
  readonly check: Check;
  /** @internal */
  readonly json: () => Record<string, unknown>;
  /** @internal */
  readonly optional?: true;
}

type Issue = { message: string; path: PropertyKey[] };
type Check = (value: unknown, path: PropertyKey[], issues: Issue[]) => void;

/** The type a builder's schema describes. */
export type Infer<S> = S extends Schema<infer T> ? T : never;

function schema<T>(check: Check, json: () => Record<string, unknown>, optional?: true): Schema<T> {
  const convert = (options: StandardJSONSchemaV1.Options) => {
    if (options.target !== 'draft-2020-12' && options.target !== 'draft-07') {
      throw new TypeError(
        `ssekit schemas convert to draft-2020-12 or draft-07, not ${options.target}.`,
      );
    }
    return json();
  };
  return {
    check,
    json,
    ...(optional && { optional }),
    '~standard': {
      version: 1,
      vendor: 'ssekit',
      validate(value) {
        const issues: Issue[] = [];
        check(value, [], issues);
        return issues.length > 0 ? { issues } : { value: value as T };
      },
      jsonSchema: { input: convert, output: convert },
    },
  };
}

const typeOf = (value: unknown) =>
  value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;

function primitive<T>(type: 'string' | 'number' | 'boolean'): Schema<T> {
  return schema(
    (value, path, issues) => {
      if (typeof value !== type || (type === 'number' && !Number.isFinite(value))) {
        issues.push({ message: `Expected ${type}, received ${typeOf(value)}`, path });
      }
    },
    () => ({ type }),
  );
}

/** A string. */
export const string = (): Schema<string> => primitive('string');
/** A finite number. */
export const number = (): Schema<number> => primitive('number');
/** A boolean. */
export const boolean = (): Schema<boolean> => primitive('boolean');

/** Any value (described as `{}`). */
export const unknown = (): Schema<unknown> =>
  schema(
    () => {},
    () => ({}),
  );

/** Exactly `expected`. */
export function literal<const T extends string | number | boolean>(expected: T): Schema<T> {
  return schema(
    (value, path, issues) => {
      if (value !== expected) {
        issues.push({
          message: `Expected ${JSON.stringify(expected)}, received ${JSON.stringify(value) ?? typeOf(value)}`,
          path,
        });
      }
    },
    () => ({ const: expected }),
  );
}

/** The key may be absent (or `undefined`). */
export function optional<T>(inner: Schema<T>): Schema<T | undefined> {
  return schema<T | undefined>(
    (value, path, issues) => {
      if (value !== undefined) inner.check(value, path, issues);
    },
    inner.json,
    true,
  );
}

/** `null`, or what `inner` accepts. */
export function nullable<T>(inner: Schema<T>): Schema<T | null> {
  return schema(
    (value, path, issues) => {
      if (value !== null) inner.check(value, path, issues);
    },
    () => ({ anyOf: [inner.json(), { type: 'null' }] }),
  );
}

/** An array of what `item` accepts. */
export function array<T>(item: Schema<T>): Schema<T[]> {
  return schema(
    (value, path, issues) => {
      if (!Array.isArray(value)) {
        issues.push({ message: `Expected array, received ${typeOf(value)}`, path });
        return;
      }
      for (const [index, element] of value.entries()) item.check(element, [...path, index], issues);
    },
    () => ({ type: 'array', items: item.json() }),
  );
}

type Shape = Record<string, Schema<unknown>>;
type OptionalKeys<S extends Shape> = {
  [K in keyof S]: undefined extends Infer<S[K]> ? K : never;
}[keyof S];
type ObjectOf<S extends Shape> = {
  [K in Exclude<keyof S, OptionalKeys<S>>]: Infer<S[K]>;
} & { [K in OptionalKeys<S>]?: Infer<S[K]> };
/** Flattens an intersection for readable types. */
type Flat<T> = { [K in keyof T]: T[K] } & {};

/** An object with these keys (others pass through). */
export function object<const S extends Shape>(shape: S): Schema<Flat<ObjectOf<S>>> {
  return schema(
    (value, path, issues) => {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        issues.push({ message: `Expected object, received ${typeOf(value)}`, path });
        return;
      }
      for (const [key, field] of Object.entries(shape)) {
        const present = (value as Record<string, unknown>)[key];
        if (present === undefined && !field.optional) {
          issues.push({ message: 'Required', path: [...path, key] });
        } else field.check(present, [...path, key], issues);
      }
    },
    () => {
      const entries = Object.entries(shape);
      return {
        type: 'object',
        properties: Object.fromEntries(entries.map(([key, field]) => [key, field.json()])),
        required: entries.filter(([, field]) => !field.optional).map(([key]) => key),
      };
    },
  );
}

/** An object whose values all match `value`. */
export function record<T>(value: Schema<T>): Schema<Record<string, T>> {
  return schema(
    (input, path, issues) => {
      if (typeof input !== 'object' || input === null || Array.isArray(input)) {
        issues.push({ message: `Expected object, received ${typeOf(input)}`, path });
        return;
      }
      for (const [key, field] of Object.entries(input)) value.check(field, [...path, key], issues);
    },
    () => ({ type: 'object', additionalProperties: value.json() }),
  );
}

/** The first of `options` that accepts the value (the issues of the last one otherwise). */
export function union<const S extends readonly Schema<unknown>[]>(
  ...options: S
): Schema<Infer<S[number]>> {
  return schema(
    (value, path, issues) => {
      let last: Issue[] = [];
      for (const option of options) {
        last = [];
        option.check(value, path, last);
        if (last.length === 0) return;
      }
      issues.push(...last);
    },
    () => ({ anyOf: options.map((option) => option.json()) }),
  );
}

/**
 * Objects told apart by their `key` field (`type`, usually): the variant named by the value is
 * checked. A value naming no variant passes as it is when `open` (formats that add variants over
 * time: handle it in a `default` branch), and fails otherwise; the type is the known variants.
 */
export function variants<const V extends Record<string, Shape>, K extends string = 'type'>(
  key: K,
  shapes: V,
  options: { open?: boolean } = {},
): Schema<{ [T in keyof V & string]: Flat<{ [P in K]: T } & ObjectOf<V[T]>> }[keyof V & string]> {
  const schemas = Object.fromEntries(
    Object.entries(shapes).map(([name, shape]) => [
      name,
      object({ ...shape, [key]: literal(name) } as Shape),
    ]),
  );
  return schema(
    (value, path, issues) => {
      const name = (value as Record<string, unknown> | null)?.[key];
      const variant = typeof name === 'string' ? schemas[name] : undefined;
      if (variant) return variant.check(value, path, issues);
      if (options.open && typeof name === 'string') return;
      const local: Issue[] = [];
      object({ [key]: string() }).check(value, path, local);
      issues.push(...local);
      if (local.length === 0) {
        issues.push({
          message: `Expected ${key} to be one of ${Object.keys(shapes).join(', ')}, received ${JSON.stringify(name)}`,
          path: [...path, key],
        });
      }
    },
    () => ({ oneOf: Object.values(schemas).map((variant) => variant.json()) }),
  );
}
