/**
 * The client under test (ssekit/client), bundled from the packed package and run INSIDE Deno, Bun
 * and workerd: a fetch handler whose `GET /run?scenario=NAME&target=URL` runs one scenario
 * against the Node server at `target` and answers with what the client saw, as JSON. (workerd
 * allows subrequests and timers only inside a request, so every runtime runs the client that way.)
 */
import { EventSource, fetchEventStream } from 'ssekit/client';

export interface SeenEvent {
  type: string;
  data: string;
  id: string;
}

export interface ScenarioResult {
  events: SeenEvent[];
  /** `onOpen` statuses, one per connection (callbacks scenario). */
  opened?: number[];
  /** What the client threw or reported, if anything. */
  error?: { name: string; code?: string; message: string } | undefined;
}

const PROMPT = { prompt: 'Grüße 🌍' };
const FAST_RETRY = { initialDelayMs: 50, maxDelayMs: 200 };

function describeError(error: unknown): ScenarioResult['error'] {
  if (!(error instanceof Error)) return { name: typeof error, message: String(error) };
  const code = (error as { code?: unknown }).code;
  return {
    name: error.name,
    message: error.message,
    ...(typeof code === 'string' ? { code } : {}),
  };
}

async function iterate(url: string, options: Parameters<typeof fetchEventStream>[1]) {
  const events: SeenEvent[] = [];
  try {
    for await (const event of fetchEventStream(url, options)) {
      events.push({ type: event.type, data: event.data, id: event.id });
    }
    return { events };
  } catch (error) {
    return { events, error: describeError(error) };
  }
}

async function callbacks(url: string): Promise<ScenarioResult> {
  const events: SeenEvent[] = [];
  const opened: number[] = [];
  const stream = fetchEventStream(url, {
    json: PROMPT,
    retry: FAST_RETRY,
    onOpen: (response) => opened.push(response.status),
    onEvent: (event) => events.push({ type: event.type, data: event.data, id: event.id }),
  });
  try {
    await stream.finished;
    return { events, opened };
  } catch (error) {
    return { events, opened, error: describeError(error) };
  }
}

function eventSource(url: string): Promise<ScenarioResult> {
  const events: SeenEvent[] = [];
  return new Promise((resolve) => {
    const source = new EventSource(url, {
      method: 'POST',
      body: JSON.stringify(PROMPT),
      headers: { 'content-type': 'application/json' },
    });
    const timer = setTimeout(() => {
      source.close();
      resolve({ events, error: { name: 'Timeout', message: 'no done event in 10 s' } });
    }, 10_000);
    source.addEventListener('token', (event) => {
      const message = event as MessageEvent<string>;
      events.push({ type: message.type, data: message.data, id: message.lastEventId });
    });
    source.addEventListener('done', () => {
      clearTimeout(timer);
      source.close();
      resolve({ events });
    });
  });
}

function run(scenario: string, target: string, key: string): Promise<ScenarioResult> {
  switch (scenario) {
    case 'iterator':
      return iterate(`${target}/tokens`, { json: PROMPT, retry: false });
    case 'callbacks':
      return callbacks(`${target}/tokens`);
    case 'event-source':
      return eventSource(`${target}/tokens`);
    case 'cut':
      return iterate(`${target}/cut?key=${key}`, { json: PROMPT, retry: FAST_RETRY });
    case 'restart':
      return iterate(`${target}/restart?key=${key}`, { json: PROMPT, retry: FAST_RETRY });
    default:
      throw new TypeError(`unknown scenario ${scenario}`);
  }
}

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname !== '/run') return new Response('ok');
    const { scenario = '', target = '', key = '' } = Object.fromEntries(url.searchParams);
    return Response.json(await run(scenario, target, key));
  },
};
