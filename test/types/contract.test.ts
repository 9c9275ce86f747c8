/**
 * Type tests of contracts, checked by `tsc --noEmit` (`npm run lint`): each `@ts-expect-error`
 * fails the build if its line compiles, so a wrong event name or data that type-checks is a red
 * CI run. The assertions run as no-ops in vitest.
 */
import * as v from 'valibot';
import { expectTypeOf, test } from 'vitest';
import { z } from 'zod';
import { type ContractStream, fetchContractStream } from '../../src/client/index.ts';
import {
  type ContractEvent,
  type ContractEventInput,
  type ContractResult,
  defineContract,
} from '../../src/contract/index.ts';
import { createHub } from '../../src/hub/index.ts';
import { createEventStream, eventStreamHandler } from '../../src/server/index.ts';

const chat = defineContract({
  token: z.object({ text: z.string() }),
  usage: v.object({ outputTokens: v.number() }), // libraries mix: both are Standard Schema
  date: z.string().transform((text) => new Date(text)), // input string, output Date
  done: z.object({ finishReason: z.enum(['stop', 'length']) }),
});
const request = new Request('http://x/');

/** A test whose body is type-checked by tsc and never run (it would open streams). */
const typeOnly = (name: string, body: () => void) =>
  test(name, () => expectTypeOf(body).toBeFunction());

typeOnly('the client yields a union discriminated by type, with the schemas output types', () => {
  expectTypeOf<ContractEvent<typeof chat>>().toEqualTypeOf<
    | { type: 'token'; data: { text: string }; id: string }
    | { type: 'usage'; data: { outputTokens: number }; id: string }
    | { type: 'date'; data: Date; id: string }
  >();
  expectTypeOf<ContractResult<typeof chat>>().toEqualTypeOf<{ finishReason: 'stop' | 'length' }>();
  const stream = fetchContractStream('/chat', { contract: chat });
  expectTypeOf(stream).toEqualTypeOf<ContractStream<typeof chat>>();
  expectTypeOf(stream.result).resolves.toEqualTypeOf<
    { finishReason: 'stop' | 'length' } | undefined
  >();
  void (async () => {
    for await (const event of stream) {
      if (event.type === 'token') expectTypeOf(event.data.text).toBeString();
      else if (event.type === 'date') expectTypeOf(event.data).toEqualTypeOf<Date>();
      // @ts-expect-error no such event
      else if (event.type === 'tokens') void event;
    }
  });
  fetchContractStream('/chat', {
    contract: chat,
    onEvent: (event) => {
      // @ts-expect-error data is a union until type is checked
      void event.data.text;
    },
  });
  stream.close();
});

typeOnly('send takes the contract events with the schemas input types', () => {
  expectTypeOf<ContractEventInput<typeof chat>>().toEqualTypeOf<
    | {
        event: 'token';
        data: { text: string };
        id?: string | number | undefined;
        retry?: number | undefined;
      }
    | {
        event: 'usage';
        data: { outputTokens: number };
        id?: string | number | undefined;
        retry?: number | undefined;
      }
    | { event: 'date'; data: string; id?: string | number | undefined; retry?: number | undefined }
  >();
  createEventStream(
    request,
    async (stream) => {
      await stream.send({ event: 'token', data: { text: 'a' } });
      await stream.send({ event: 'date', data: '2026-12-02' });
      // @ts-expect-error wrong event name
      await stream.send({ event: 'tokens', data: { text: 'a' } });
      // @ts-expect-error wrong data
      await stream.send({ event: 'token', data: { text: 1 } });
      // @ts-expect-error the output type is not what send takes
      await stream.send({ event: 'date', data: new Date() });
      // @ts-expect-error done is the server's: return it
      await stream.send({ event: 'done', data: { finishReason: 'stop' } });
      // @ts-expect-error no progress event in this contract
      await stream.progress({ phase: 'x' });
      return { finishReason: 'stop' as const };
    },
    { contract: chat },
  );
});

typeOnly('the result must match done; generators yield the contract events', () => {
  // @ts-expect-error a producer returning nothing, with a done schema
  createEventStream(request, async () => {}, { contract: chat });
  // @ts-expect-error the wrong result
  createEventStream(request, async () => ({ finishReason: 'tired' as const }), { contract: chat });
  createEventStream(
    request,
    async function* () {
      yield { event: 'token' as const, data: { text: 'a' } };
      return { finishReason: 'length' as const };
    },
    { contract: chat },
  );
  // @ts-expect-error yields an event the contract does not have
  createEventStream(
    request,
    async function* () {
      yield { event: 'nope' as const, data: 1 };
      return { finishReason: 'length' as const };
    },
    { contract: chat },
  );
  // without done, anything (or nothing) may be returned
  const feed = defineContract({ tick: z.number() });
  createEventStream(request, async () => {}, { contract: feed });
  // a message event may leave its name out
  const plain = defineContract({ message: z.string() });
  createEventStream(request, [{ data: 'hi' }, { event: 'message', data: 'there' }], {
    contract: plain,
  });
  // @ts-expect-error message data must be a string
  createEventStream(request, [{ data: 1 }], { contract: plain });
});

typeOnly('hub runs and topics carry the same contract', () => {
  const hub = createHub();
  void hub.stream(
    request,
    async (run) => {
      expectTypeOf(run.runId).toBeString();
      await run.send({ event: 'usage', data: { outputTokens: 1 } });
      // @ts-expect-error wrong data
      await run.send({ event: 'usage', data: { outputTokens: '1' } });
      return { finishReason: 'stop' as const };
    },
    { contract: chat },
  );
  const ticks = defineContract({ tick: z.object({ at: z.number() }) });
  void hub.publish('clock', { event: 'tick', data: { at: 1 } }, { contract: ticks });
  // @ts-expect-error wrong event name
  void hub.publish('clock', { event: 'tock', data: { at: 1 } }, { contract: ticks });
  void hub.publish('clock', { event: 'anything', data: 'goes' }); // without a contract
  void hub.close();
});

typeOnly('eventStreamHandler under a contract types send, the body and the result', () => {
  eventStreamHandler(
    { contract: chat, parseBody: (body) => body as { prompt: string } },
    async (stream, body) => {
      expectTypeOf(body).toEqualTypeOf<{ prompt: string }>();
      await stream.send({ event: 'token', data: { text: body.prompt } });
      // @ts-expect-error not in the contract
      await stream.send({ event: 'tokens', data: { text: 'a' } });
      // @ts-expect-error text must be a string
      await stream.send({ event: 'token', data: { text: 1 } });
      return { finishReason: 'stop' as const };
    },
  );
  // @ts-expect-error the result must match the contract's done
  eventStreamHandler({ contract: chat }, async () => ({ finishReason: 'later' }));
  // without a contract, anything goes, as before
  eventStreamHandler({}, async (stream) => {
    await stream.send({ event: 'anything', data: 1 });
  });
});
