/**
 * Type tests of ssekit/otel, checked by `tsc --noEmit` (`npm run lint`): a traced client function
 * keeps the types of the one it wraps, generic ones included.
 */
import { expectTypeOf, test } from 'vitest';
import { z } from 'zod';
import {
  type ContractStream,
  type EventStream,
  fetchContractStream,
  fetchEventStream,
} from '../../src/client/index.ts';
import { defineContract } from '../../src/contract/index.ts';
import { createTelemetry } from '../../src/otel/index.ts';

const chat = defineContract({ token: z.object({ text: z.string() }) });

test('telemetry.client keeps the client function types', () => {
  const telemetry = createTelemetry();
  const tracedEvents = telemetry.client(fetchEventStream);
  expectTypeOf(tracedEvents).toEqualTypeOf<typeof fetchEventStream>();
  expectTypeOf<ReturnType<typeof tracedEvents>>().toEqualTypeOf<EventStream>();
  const tracedContract = telemetry.client(fetchContractStream);
  const body = () => tracedContract('/chat', { contract: chat });
  expectTypeOf<ReturnType<typeof body>>().toEqualTypeOf<ContractStream<typeof chat>>();
  // @ts-expect-error not a client function
  expectTypeOf(() => telemetry.client((url: string) => url)).toBeFunction();
});
