/**
 * The Standard Schema interfaces (https://standardschema.dev, `@standard-schema/spec` v1), copied
 * as types so that ssekit depends on no package for them: zod (3.24+, 4), valibot (1), arktype (2)
 * and ssekit's own provider schemas implement them. Only types: nothing here reaches a bundle.
 *
 * @module
 */

/** A schema any Standard Schema library makes: `~standard.validate` and its inferred types. */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  /** The Standard Schema properties. */
  readonly '~standard': StandardSchemaV1.Props<Input, Output>;
}

export declare namespace StandardSchemaV1 {
  /** The Standard Schema properties. */
  export interface Props<Input = unknown, Output = Input> {
    /** The version of the standard. */
    readonly version: 1;
    /** The library that made the schema (`zod`, `valibot`, `ssekit`). */
    readonly vendor: string;
    /** Validates an unknown value. */
    readonly validate: (
      value: unknown,
      options?: Options | undefined,
    ) => Result<Output> | Promise<Result<Output>>;
    /** The inferred types (types only). */
    readonly types?: Types<Input, Output> | undefined;
  }
  /** What `validate` returns. */
  export type Result<Output> = SuccessResult<Output> | FailureResult;
  /** A valid value: `value` is the schema's output. */
  export interface SuccessResult<Output> {
    readonly value: Output;
    readonly issues?: undefined;
  }
  /** Options of `validate`. */
  export interface Options {
    readonly libraryOptions?: Record<string, unknown> | undefined;
  }
  /** An invalid value: what is wrong with it. */
  export interface FailureResult {
    readonly issues: ReadonlyArray<Issue>;
  }
  /** One problem: a message, and where in the value. */
  export interface Issue {
    readonly message: string;
    readonly path?: ReadonlyArray<PropertyKey | PathSegment> | undefined;
  }
  /** One step of an issue's path. */
  export interface PathSegment {
    readonly key: PropertyKey;
  }
  /** The inferred types. */
  export interface Types<Input = unknown, Output = Input> {
    readonly input: Input;
    readonly output: Output;
  }
  /** The type a schema accepts. */
  export type InferInput<Schema extends StandardSchemaV1> = NonNullable<
    Schema['~standard']['types']
  >['input'];
  /** The type a schema produces. */
  export type InferOutput<Schema extends StandardSchemaV1> = NonNullable<
    Schema['~standard']['types']
  >['output'];
}

/**
 * Standard JSON Schema (`@standard-schema/spec` v1.1): a schema that converts itself to JSON
 * Schema. zod 4 implements it; ssekit's provider schemas too.
 */
export interface StandardJSONSchemaV1<Input = unknown, Output = Input> {
  readonly '~standard': StandardJSONSchemaV1.Props<Input, Output>;
}

export declare namespace StandardJSONSchemaV1 {
  /** The Standard JSON Schema properties. */
  export interface Props<Input = unknown, Output = Input> {
    readonly version: 1;
    readonly vendor: string;
    readonly types?: StandardSchemaV1.Types<Input, Output> | undefined;
    /** The JSON Schema of what the schema accepts (`input`) and produces (`output`). */
    readonly jsonSchema: Converter;
  }
  /** The two conversions. */
  export interface Converter {
    readonly input: (options: Options) => Record<string, unknown>;
    readonly output: (options: Options) => Record<string, unknown>;
  }
  /** `draft-2020-12` (what OpenAPI 3.1+ and AsyncAPI 3 read), `draft-07`, `openapi-3.0`. */
  export type Target = 'draft-2020-12' | 'draft-07' | 'openapi-3.0' | ({} & string);
  /** Options of a conversion. */
  export interface Options {
    readonly target: Target;
    readonly libraryOptions?: Record<string, unknown> | undefined;
  }
}
