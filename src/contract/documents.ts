/**
 * A contract described for other tools: an OpenAPI 3.2 operation whose response is
 * `text/event-stream` with an `itemSchema` (one schema per event), and an AsyncAPI 3 document with
 * one message per event. The JSON Schema of each event's data comes from its schema itself
 * (Standard JSON Schema: zod 4, ssekit's provider schemas; valibot through
 * `toStandardJsonSchema` of `@valibot/to-json-schema`), or from your `jsonSchema` converter.
 *
 * @module
 */
import type { AnyContract } from './define-contract.ts';
import type { StandardJSONSchemaV1, StandardSchemaV1 } from './standard-schema.ts';

type JsonSchema = Record<string, unknown>;

/** Options both documents take. */
export interface DocumentOptions {
  /** @default the contract's title, else 'Event stream' */
  title?: string | undefined;
  /** The API's version. @default '1.0.0' */
  version?: string | undefined;
  /** @default the contract's description */
  description?: string | undefined;
  /**
   * Converts a schema without Standard JSON Schema support (valibot without its wrapper, a
   * schema of your own) to JSON Schema: `(schema, event) => toJsonSchema(schema)`.
   */
  jsonSchema?: ((schema: StandardSchemaV1, event: string) => JsonSchema) | undefined;
}

/** Options of {@link toOpenAPI}. */
export interface OpenAPIOptions extends DocumentOptions {
  /** The path of the endpoint, e.g. `/api/chat`. */
  path: string;
  /** @default 'post' */
  method?: 'get' | 'post' | 'put' | 'patch' | undefined;
  /** @default derived from the method and path */
  operationId?: string | undefined;
  /** The JSON Schema of the request body (a POST's `application/json` body), if any. */
  requestBody?: JsonSchema | undefined;
}

/** Options of {@link toAsyncAPI}. */
export interface AsyncAPIOptions extends DocumentOptions {
  /** The channel's address: the path the stream is served at, e.g. `/api/chat`. */
  address: string;
  /** The channel's key in the document. @default 'events' */
  channel?: string | undefined;
  /** Servers, as AsyncAPI 3 writes them: `{ production: { host, protocol: 'https' } }`. */
  servers?: Record<string, { host: string; protocol: string; pathname?: string }> | undefined;
}

const ERROR_DATA: JsonSchema = {
  type: 'object',
  properties: { message: { type: 'string' }, code: { type: 'string' } },
  required: ['message'],
};

/**
 * An OpenAPI 3.2 document with one operation: its `200` response is `text/event-stream`, and its
 * `itemSchema` describes one event: the SSE fields (`event`, `data`, `id`, `retry`), and, per
 * event of the contract, its name and its data (`contentMediaType: application/json` with the
 * data's schema as `contentSchema`; a string schema describes `data` itself). ssekit's `done` and
 * `error` are described too.
 *
 * @example
 * ```ts
 * import { defineContract, toOpenAPI } from 'ssekit/contract';
 * import { z } from 'zod';
 *
 * const chat = defineContract({ token: z.object({ text: z.string() }) }, { title: 'Chat' });
 * const document = toOpenAPI(chat, { path: '/api/chat' });
 * ```
 * @see https://spec.openapis.org/oas/v3.2.0.html#sequential-media-types
 */
export function toOpenAPI(contract: AnyContract, options: OpenAPIOptions): JsonSchema {
  const method = options.method ?? 'post';
  const variants = eventVariants(contract, options, 'draft-2020-12').map(({ name, data }) => ({
    title: name,
    type: 'object',
    properties: {
      event: { const: name },
      data:
        data.type === 'string'
          ? data
          : { type: 'string', contentMediaType: 'application/json', contentSchema: data },
    },
    // an event without a name is a message
    required: name === 'message' ? ['data'] : ['event', 'data'],
  }));
  const operation: JsonSchema = {
    operationId: options.operationId ?? operationIdOf(method, options.path),
    ...(options.requestBody && {
      requestBody: {
        required: true,
        content: { 'application/json': { schema: options.requestBody } },
      },
    }),
    responses: {
      '200': {
        description: 'An event stream (text/event-stream), one event per item.',
        content: {
          'text/event-stream': {
            itemSchema: {
              type: 'object',
              properties: {
                event: { type: 'string' },
                data: { type: 'string' },
                id: { type: 'string' },
                retry: { type: 'integer', minimum: 0 },
              },
              required: ['data'],
              oneOf: variants,
            },
          },
        },
      },
    },
  };
  return {
    openapi: '3.2.0',
    info: info(contract, options),
    paths: { [options.path]: { [method]: operation } },
  };
}

/**
 * An AsyncAPI 3 document: one channel at `address` with one message per event of the contract
 * (its name, and its data's schema as payload), and one `receive` operation over them. ssekit's
 * `done` and `error` are messages too.
 *
 * @see https://www.asyncapi.com/docs/reference/specification/v3.0.0
 */
export function toAsyncAPI(contract: AnyContract, options: AsyncAPIOptions): JsonSchema {
  const channel = options.channel ?? 'events';
  const messages = Object.fromEntries(
    eventVariants(contract, options, 'draft-07').map(({ name, data }) => [
      messageKey(name),
      { name, title: name, contentType: 'application/json', payload: data },
    ]),
  );
  return {
    asyncapi: '3.0.0',
    info: info(contract, options),
    ...(options.servers && { servers: options.servers }),
    channels: {
      [channel]: {
        address: options.address,
        title: 'Server-sent events',
        messages,
      },
    },
    operations: {
      [`receive${channel[0]?.toUpperCase() ?? ''}${channel.slice(1)}`]: {
        action: 'receive',
        channel: { $ref: `#/channels/${channel}` },
        messages: Object.keys(messages).map((key) => ({
          $ref: `#/channels/${channel}/messages/${key}`,
        })),
      },
    },
  };
}

/** Each event's name and the JSON Schema of its data, `done` and `error` included. */
function eventVariants(
  contract: AnyContract,
  options: DocumentOptions,
  target: StandardJSONSchemaV1.Target,
): Array<{ name: string; data: JsonSchema }> {
  const entries = Object.entries(contract.events as Record<string, StandardSchemaV1>);
  const variants = entries
    .filter(([name]) => name !== 'error')
    .map(([name, schema]) => ({ name, data: jsonSchemaOf(schema, name, options, target) }));
  if (!('done' in contract.events)) variants.push({ name: 'done', data: { type: 'object' } });
  variants.push({ name: 'error', data: ERROR_DATA });
  return variants;
}

function jsonSchemaOf(
  schema: StandardSchemaV1,
  name: string,
  options: DocumentOptions,
  target: StandardJSONSchemaV1.Target,
): JsonSchema {
  const standard = schema['~standard'] as Partial<StandardJSONSchemaV1.Props>;
  let json: JsonSchema;
  if (standard.jsonSchema) json = standard.jsonSchema.input({ target });
  else if (options.jsonSchema) json = options.jsonSchema(schema, name);
  else {
    throw new TypeError(
      `The schema of "${name}" (${standard.vendor}) cannot describe itself as JSON Schema: pass jsonSchema: (schema) => ..., or wrap it (valibot: toStandardJsonSchema from @valibot/to-json-schema).`,
    );
  }
  // The documents set their own dialect.
  const { $schema: _, ...rest } = json;
  return rest;
}

function info(contract: AnyContract, options: DocumentOptions): JsonSchema {
  const description = options.description ?? contract.description;
  return {
    title: options.title ?? contract.title ?? 'Event stream',
    version: options.version ?? '1.0.0',
    ...(description !== undefined && { description }),
  };
}

function operationIdOf(method: string, path: string): string {
  const words = path.split(/[^A-Za-z0-9]+/).filter(Boolean);
  return method + words.map((word) => word[0]!.toUpperCase() + word.slice(1)).join('');
}

/** AsyncAPI component keys allow `^[a-zA-Z0-9.\-_]+$`. */
function messageKey(name: string): string {
  return name.replace(/[^a-zA-Z0-9.\-_]/g, '_');
}
