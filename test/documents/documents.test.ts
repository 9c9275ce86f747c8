/**
 * OpenAPI 3.2 and AsyncAPI 3 documents from contracts (zod, valibot with its converter, ssekit's
 * provider schemas), validated by the real validators from npm: @seriousme/openapi-schema-validator
 * (OpenAPI 3.2's JSON Schema) and @asyncapi/parser (the AsyncAPI 3 parser, with its rules).
 * A slow suite: the AsyncAPI parser takes seconds per document.
 */
// biome-ignore-all lint/suspicious/noExplicitAny: reading into the generated documents
import { Parser } from '@asyncapi/parser';
import { Validator } from '@seriousme/openapi-schema-validator';
import { toJsonSchema, toStandardJsonSchema } from '@valibot/to-json-schema';
import * as v from 'valibot';
import { describe, expect, test } from 'vitest';
import { z } from 'zod';
import {
  anthropicContract,
  defineContract,
  openaiResponsesContract,
  toAsyncAPI,
  toOpenAPI,
} from '../../src/contract/index.ts';

const chat = defineContract(
  {
    token: z.string(),
    usage: z.object({ inputTokens: z.number().int(), outputTokens: z.number().int() }),
    done: z.object({ finishReason: z.enum(['stop', 'length']) }),
  },
  { title: 'Chat', description: 'Tokens of an answer.' },
);
const jobs = defineContract({
  progress: toStandardJsonSchema(v.object({ phase: v.string(), fraction: v.optional(v.number()) })),
  row: v.object({ n: v.number() }),
});

async function validOpenAPI(document: Record<string, unknown>) {
  const result = await new Validator().validate(document);
  expect(result.errors ?? []).toEqual([]);
  expect(result.valid).toBe(true);
}

async function validAsyncAPI(document: Record<string, unknown>) {
  const { diagnostics } = await new Parser().parse(document as never);
  const errors = diagnostics.filter((diagnostic) => diagnostic.severity === 0);
  expect(errors.map((error) => `${error.path.join('.')}: ${error.message}`)).toEqual([]);
}

describe('OpenAPI 3.2', () => {
  test('a zod contract: text/event-stream with an itemSchema per event', async () => {
    const document = toOpenAPI(chat, {
      path: '/api/chat',
      requestBody: { type: 'object', properties: { prompt: { type: 'string' } } },
    });
    await validOpenAPI(document);
    const operation = (document.paths as any)['/api/chat'].post;
    expect(operation.operationId).toBe('postApiChat');
    const item = operation.responses['200'].content['text/event-stream'].itemSchema;
    expect(item.oneOf.map((variant: any) => variant.properties.event.const)).toEqual([
      'token',
      'usage',
      'done',
      'error',
    ]);
    expect(item.oneOf[0].properties.data).toEqual({ type: 'string' });
    expect(item.oneOf[1].properties.data).toEqual({
      type: 'string',
      contentMediaType: 'application/json',
      contentSchema: {
        type: 'object',
        properties: {
          inputTokens: { type: 'integer', minimum: -9007199254740991, maximum: 9007199254740991 },
          outputTokens: { type: 'integer', minimum: -9007199254740991, maximum: 9007199254740991 },
        },
        required: ['inputTokens', 'outputTokens'],
      },
    });
    expect(document.info).toEqual({
      title: 'Chat',
      version: '1.0.0',
      description: 'Tokens of an answer.',
    });
  });

  test('valibot: Standard JSON Schema through its wrapper, or a converter', async () => {
    await validOpenAPI(
      toOpenAPI(jobs, {
        path: '/jobs/{id}/events',
        method: 'get',
        jsonSchema: (schema) => toJsonSchema(schema as never) as Record<string, unknown>,
      }),
    );
    expect(() => toOpenAPI(jobs, { path: '/jobs' })).toThrow(
      'The schema of "row" (valibot) cannot describe itself as JSON Schema: pass jsonSchema: (schema) => ..., or wrap it (valibot: toStandardJsonSchema from @valibot/to-json-schema).',
    );
  });

  test('the provider contracts describe themselves', async () => {
    await validOpenAPI(toOpenAPI(openaiResponsesContract, { path: '/v1/responses' }));
    await validOpenAPI(toOpenAPI(anthropicContract, { path: '/v1/messages' }));
  });

  test('a broken document is refused by the validator (the check is real)', async () => {
    const document = toOpenAPI(chat, { path: '/api/chat' });
    const result = await new Validator().validate({ ...document, paths: { 'api/chat': {} } });
    expect(result.valid).toBe(false);
  });
});

describe('AsyncAPI 3', () => {
  test('a zod contract: one message per event, one receive operation', async () => {
    const document = toAsyncAPI(chat, {
      address: '/api/chat',
      servers: { production: { host: 'api.example.com', protocol: 'https' } },
    });
    await validAsyncAPI(document);
    expect(Object.keys((document.channels as any).events.messages)).toEqual([
      'token',
      'usage',
      'done',
      'error',
    ]);
    expect((document.operations as any).receiveEvents.action).toBe('receive');
  });

  test('valibot and the provider contracts', async () => {
    await validAsyncAPI(
      toAsyncAPI(jobs, {
        address: '/jobs',
        jsonSchema: (schema) => toJsonSchema(schema as never) as Record<string, unknown>,
      }),
    );
    await validAsyncAPI(
      toAsyncAPI(openaiResponsesContract, { address: '/v1/responses', channel: 'responses' }),
    );
  });

  test('a broken document is refused by the parser (the check is real)', async () => {
    const { diagnostics } = await new Parser().parse({ asyncapi: '3.0.0', channels: {} });
    expect(diagnostics.some((diagnostic) => diagnostic.severity === 0)).toBe(true);
  });
});
