/**
 * An OpenAI-compatible `POST /v1/chat/completions` built with ssekit, answering with a fake model.
 * The official `openai` SDK (and anything built for OpenAI) reads it: chunks as `data:` JSON,
 * the end as `data: [DONE]` (so `terminalEvents: false`: no ssekit `done`/`error` events), and a
 * mid-stream failure as `data: {"error": ...}`, which the SDK throws as an APIError.
 *
 * `npx tsx examples/openai-compatible/server.ts`, then `npx tsx examples/openai-compatible/client.ts`.
 */
import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { toNodeHandler } from '../../src/adapters/node.ts';
import { RequestError } from '../../src/index.ts';
import { createEventStream, readJsonBody } from '../../src/server/index.ts';
import { createTokenRelay, type TokenRelayOptions } from './relay.ts';

interface Completion {
  model: string;
  prompt: string;
  stream: boolean;
}

/** The fake model: a deterministic answer, one token at a time. */
function* fakeModel(prompt: string): Generator<string> {
  yield* `You asked: "${prompt}". This answer arrives one token at a time.`.match(/\S+\s*/g) ?? [];
}

/** OpenAI's error shape: `{"error": {"message", "type", "code"}}`. */
function openAIError(status: number, message: string, code: string): Response {
  const type = status >= 500 ? 'server_error' : 'invalid_request_error';
  return Response.json({ error: { message, type, code, param: null } }, { status });
}

async function parseCompletion(request: Request): Promise<Completion> {
  const body = (await readJsonBody(request, { maxBytes: 64 * 1024 })) as Record<string, unknown>;
  const messages = Array.isArray(body.messages)
    ? (body.messages as Array<Record<string, unknown>>)
    : [];
  const last = messages.at(-1);
  if (typeof body.model !== 'string' || typeof last?.content !== 'string') {
    throw new RequestError('bad-request', 'Send a model and messages ending with a text message.');
  }
  return { model: body.model, prompt: last.content, stream: body.stream === true };
}

/** POST /v1/chat/completions as a Web handler. */
export async function chatCompletions(request: Request): Promise<Response> {
  let completion: Completion;
  try {
    completion = await parseCompletion(request);
  } catch (error) {
    if (RequestError.isInstance(error)) return openAIError(error.status, error.message, error.code);
    throw error;
  }
  const id = 'chatcmpl-ssekit-example';
  const created = 1_700_000_000;
  const chunk = (delta: object, finish: string | null) => ({
    id,
    object: 'chat.completion.chunk',
    created,
    model: completion.model,
    choices: [{ index: 0, delta, finish_reason: finish }],
  });
  if (!completion.stream) {
    const content = [...fakeModel(completion.prompt)].join('');
    return Response.json({
      id,
      object: 'chat.completion',
      created,
      model: completion.model,
      choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
    });
  }
  return createEventStream(
    request,
    async (stream) => {
      try {
        await stream.send({ data: chunk({ role: 'assistant', content: '' }, null) });
        for (const token of fakeModel(completion.prompt)) {
          if (completion.prompt.includes('fail mid-stream')) throw new Error('model crashed');
          await stream.send({ data: chunk({ content: token }, null) });
        }
        await stream.send({ data: chunk({}, 'stop') });
      } catch (error) {
        if (stream.signal.aborted) throw error; // the client left: nothing to tell it
        console.error('completion failed:', error);
        await stream.send({
          data: { error: { message: 'The model failed.', type: 'server_error' } },
        });
      }
      await stream.send({ data: '[DONE]' });
    },
    { terminalEvents: false },
  );
}

/** Serves the completions endpoint and the relay (whose upstream defaults to this server). */
export function createCompletionsServer(relayOptions: TokenRelayOptions = {}): Server {
  const completions = toNodeHandler(chatCompletions);
  const relay = toNodeHandler(createTokenRelay(relayOptions));
  return createServer((req, res) => {
    if (req.url === '/v1/chat/completions') return void completions(req, res);
    if (req.url === '/api/chat') return void relay(req, res);
    res.writeHead(404).end();
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const port = Number(process.env.PORT ?? 3000);
  const relayOptions = { baseURL: process.env.OPENAI_BASE_URL, apiKey: process.env.OPENAI_API_KEY };
  createCompletionsServer(relayOptions).listen(port, () =>
    console.log(`http://localhost:${port}/v1/chat/completions and /api/chat`),
  );
}
