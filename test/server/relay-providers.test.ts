/**
 * The relay ends on the same terminal and error events as the client (src/_internal/terminal.ts):
 * byte-accurate provider streams whose upstream stays open after their terminal event.
 */
import { expect, test, vi } from 'vitest';
import { relayEventStream } from '../../src/server/index.ts';
import {
  ANTHROPIC_OVERLOADED,
  aiSdkUi,
  anthropic,
  gemini,
  openAiResponses,
  type WireStream,
} from '../helpers/provider-streams.ts';
import { deferred, textReader } from '../helpers/server-stream.ts';

/** The upstream's bytes, then it stays open: only the terminal event can end the relay. */
function upstream(parts: string[]) {
  const cancelled = deferred<unknown>();
  let index = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      const part = parts[index++];
      if (part === undefined) return new Promise(() => {});
      controller.enqueue(new TextEncoder().encode(part));
    },
    cancel: (reason) => cancelled.resolve(reason),
  });
  return {
    response: new Response(body, { headers: { 'content-type': 'text/event-stream' } }),
    cancelled: cancelled.promise,
  };
}

const lastData = (stream: WireStream) => stream.events.at(-1)!.data;

test.each([
  ['Anthropic: message_stop', anthropic()],
  ['OpenAI Responses: response.completed', openAiResponses()],
  ['Gemini: the finishReason chunk', gemini()],
  ['AI SDK: finish', aiSdkUi()],
])('%s is forwarded, then done, and the upstream is let go', async (_name, stream) => {
  const source = upstream(stream.chunks);
  const text = await textReader(relayEventStream(source.response).body).all();
  expect(text).toContain(lastData(stream));
  expect(text.endsWith('event: done\ndata: {}\n\n')).toBe(true);
  await source.cancelled;
});

test("Anthropic's error event: an error event with its message and type; onError gets a ServerError", async () => {
  const onError = vi.fn();
  const wire = anthropic();
  const source = upstream([...wire.chunks.slice(0, 3), ANTHROPIC_OVERLOADED]);
  const text = await textReader(relayEventStream(source.response, { onError }).body).all();
  expect(
    text.endsWith('event: error\ndata: {"message":"Overloaded","code":"overloaded_error"}\n\n'),
  ).toBe(true);
  expect(onError.mock.calls[0]![0]).toMatchObject({
    code: 'server-error',
    type: 'overloaded_error',
    retryable: true,
  });
});
