import { terminalOf } from '../_internal/terminal.ts';
import { ServerError } from '../errors.ts';
import type { ServerSentEvent } from '../protocol/types.ts';
import type { Ending } from './_connection.ts';

/**
 * What a terminal rule says about an event:
 *
 * - `undefined`, `null` or `false`: not terminal, the event is delivered and the stream goes on;
 * - `true`: the stream ends here, without delivering the event (an `event: error` still rejects
 *   with a `ServerError` made from its payload);
 * - `{ deliver?, error? }`: the stream ends here; `deliver: true` delivers the event first (it
 *   carries content, like OpenAI's `response.completed`); `error` makes the stream fail with it.
 */
export type TerminalVerdict =
  | boolean
  | null
  | undefined
  | { deliver?: boolean | undefined; error?: unknown };

/** Decides which events end a stream: see {@link TerminalVerdict}. */
export type TerminalRule = (event: ServerSentEvent) => TerminalVerdict;

/**
 * The default terminal rule: the end and error events of the formats people read, with no option.
 *
 * | format | ends with (delivered?) | fails with a `ServerError` on |
 * | --- | --- | --- |
 * | ssekit | `event: done` (no) | `event: error` |
 * | OpenAI Chat Completions | `data: [DONE]` (no) | a chunk `{"error":{...}}` |
 * | OpenAI Responses | `response.completed`, `response.incomplete` (yes) | `error`, `response.failed` (delivered first) |
 * | Anthropic Messages | `message_stop` (yes) | `event: error` (`overloaded_error`, ...) |
 * | Gemini (`alt=sse`) | the chunk whose candidates carry `finishReason` (yes) | a chunk `{"error":{...}}` |
 * | AI SDK UI message stream | `{"type":"finish"}` (yes), `data: [DONE]` (no) | `{"type":"error","errorText"}` |
 *
 * A provider's error carries its message and type (`error.message` is `Overloaded
 * (overloaded_error)`, `error.type` is `overloaded_error`) and is `retryable` when its type says
 * the failure is transient: the client then sends the request again only if nothing was
 * delivered yet.
 *
 * @example
 * ```ts
 * import { defaultTerminal, fetchEventStream } from 'ssekit/client';
 *
 * // Add a rule for your own format, keep the others.
 * const stream = fetchEventStream('/api/agent', {
 *   json: { task: 'summarise' },
 *   isTerminal: (event) => event.type === 'agent.finished' || defaultTerminal(event),
 * });
 * ```
 */
export function defaultTerminal(event: ServerSentEvent): TerminalVerdict {
  const terminal = terminalOf(event);
  if (terminal?.kind !== 'error') return terminal && { deliver: terminal.deliver };
  const { label, data, type, retryable } = terminal.error;
  const error = new ServerError(label || 'The server reported an error', data, event.id, {
    type,
    retryable,
  });
  return { deliver: terminal.deliver, error };
}

/**
 * A user's rule as the connection core takes it: `true` on an error event keeps its meaning (the
 * stream fails with the server's error).
 * @internal
 */
export function connectionTerminal(
  rule: TerminalRule,
): (event: ServerSentEvent) => Ending | undefined {
  return (event) => {
    const verdict = rule(event);
    if (verdict !== true) return verdict || undefined;
    return event.type === 'error' ? (defaultTerminal(event) as Ending) : {};
  };
}
