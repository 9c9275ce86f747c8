/**
 * The provider contracts against the providers' wire formats as their docs show them
 * (test/helpers/provider-streams.ts, the same streams the client's provider tests use): every
 * event the client yields passes its contract, typed; a chunk that breaks the format fails with a
 * ContractError naming the field; what a provider may add passes.
 */
import { describe, expect, expectTypeOf, test } from 'vitest';
import { fetchContractStream } from '../../src/client/index.ts';
import {
  type AnyContract,
  aiSdkUiContract,
  anthropicContract,
  type ContractEvent,
  geminiContract,
  openaiChatContract,
  openaiResponsesContract,
} from '../../src/contract/index.ts';
import { ContractError } from '../../src/index.ts';
import {
  aiSdkUi,
  anthropic,
  gemini,
  openAiChat,
  openAiResponses,
  type WireStream,
} from '../helpers/provider-streams.ts';

const wire = (stream: Pick<WireStream, 'chunks' | 'headers'>) => async () =>
  new Response(stream.chunks.join(''), { headers: stream.headers });

const cases = [
  ['OpenAI Chat', openaiChatContract, openAiChat()],
  ['OpenAI Responses', openaiResponsesContract, openAiResponses()],
  ['Anthropic', anthropicContract, anthropic()],
  ['Gemini', geminiContract, gemini()],
  ['AI SDK UI', aiSdkUiContract, aiSdkUi()],
] as const;

describe.each(cases)('%s', (_, contract, stream) => {
  test('every event the client yields passes, parsed', async () => {
    const seen: Array<{ type: string; data: unknown }> = [];
    const any = contract as AnyContract; // a union of contracts has no common events
    for await (const event of fetchContractStream('http://x/', {
      contract: any,
      fetch: wire(stream),
    }))
      seen.push({ type: event.type, data: event.data });
    expect(seen).toEqual(
      stream.events.map((event) => ({ type: event.type, data: JSON.parse(event.data) })),
    );
  });
});

test('typed: the text of each format is reachable without a cast', async () => {
  let text = '';
  for await (const event of fetchContractStream('http://x/', {
    contract: anthropicContract,
    fetch: wire(anthropic()),
  })) {
    if (event.type === 'content_block_delta' && event.data.delta.type === 'text_delta')
      text += event.data.delta.text;
    if (event.type === 'message_delta') expectTypeOf(event.data.usage.output_tokens).toBeNumber();
  }
  expect(text).toBe(anthropic().text);

  let chat = '';
  for await (const event of fetchContractStream('http://x/', {
    contract: openaiChatContract,
    fetch: wire(openAiChat()),
  }))
    chat += event.data.choices[0]?.delta.content ?? '';
  expect(chat).toBe(openAiChat().text);

  let ui = '';
  for await (const event of fetchContractStream('http://x/', {
    contract: aiSdkUiContract,
    fetch: wire(aiSdkUi()),
  })) {
    const part = event.data;
    if (part.type === 'text-delta') ui += part.delta;
  }
  expect(ui).toBe(aiSdkUi().text);
  expectTypeOf<ContractEvent<typeof geminiContract>['type']>().toEqualTypeOf<'message'>();
  expectTypeOf<ContractEvent<typeof openaiResponsesContract>['type']>().toExtend<string>();
});

test('a chunk that breaks the format fails with the field named', async () => {
  const broken = {
    headers: { 'content-type': 'text/event-stream' },
    chunks: [
      'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":7}}]}\n\n',
    ],
  };
  const stream = fetchContractStream('http://x/', {
    contract: openaiChatContract,
    fetch: wire(broken),
  });
  const error = await stream.finished.catch((failure: unknown) => failure);
  expect(ContractError.isInstance(error)).toBe(true);
  expect((error as ContractError).message).toBe(
    'Event "message" does not match the contract: choices.0.delta.content: Expected string, received number.',
  );
});

test('what providers add passes: unknown events are skipped, unknown fields and part types kept', async () => {
  const added = {
    headers: { 'content-type': 'text/event-stream' },
    chunks: [
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"citations_delta","citation":{}}}\n\n',
      'event: brand_new_event\ndata: {"type":"brand_new_event"}\n\n',
      'event: message_stop\ndata: {"type":"message_stop","extra":1}\n\n',
    ],
  };
  const seen: unknown[] = [];
  for await (const event of fetchContractStream('http://x/', {
    contract: anthropicContract,
    fetch: wire(added),
  }))
    seen.push(event.type);
  expect(seen).toEqual(['content_block_delta', 'message_stop']);
  const part = {
    headers: { 'content-type': 'text/event-stream' },
    chunks: [
      'data: {"type":"data-weather","data":{"city":"Oslo"}}\n\n',
      'data: {"type":"finish"}\n\n',
    ],
  };
  const parts: unknown[] = [];
  for await (const event of fetchContractStream('http://x/', {
    contract: aiSdkUiContract,
    fetch: wire(part),
  }))
    parts.push(event.data);
  expect(parts).toEqual([{ type: 'data-weather', data: { city: 'Oslo' } }, { type: 'finish' }]);
});
