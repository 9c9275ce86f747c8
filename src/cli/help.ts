import { readFileSync } from 'node:fs';

/** The text of `ssekit --help`. docs/cli.md documents the same options; a test compares them. */
export const HELP: string = `Usage: ssekit URL [options]

Consume a Server-Sent Events stream and print each event as it arrives. Send the request once:
when the connection drops, resume with Last-Event-ID (or repeat a GET), never re-run a POST.
The terminal events of ssekit, OpenAI, Anthropic, Gemini and the AI SDK end the stream; so does
the end of the response. URL may omit http://.

Request:
  -X, --request METHOD         the HTTP method (default: GET, or POST with -d)
  -d, --data DATA              the request body; implies POST; JSON data is sent as
                               application/json. -d @FILE reads a file, -d @- reads stdin
  -H, --header 'Name: value'   a request header (repeatable)
      --last-event-id ID       start after this event ID (sent as Last-Event-ID)

Output (stdout):
                               by default, readable: the type and id of each event, then its
                               data; on a terminal, coloured (NO_COLOR, FORCE_COLOR) with
                               JSON data indented
      --json                   NDJSON: {"type","id","data"} per event, plus "json" (the data
                               parsed) when the data is JSON
      --raw                    the bytes of the stream exactly as received
      --text                   only the text of the token deltas, concatenated (OpenAI,
                               Anthropic, Gemini, AI SDK, {"text"}, or plain data)
Reconnection notices and errors go to stderr.

Checking:
      --contract FILE[#NAME]   check every event against a contract (defineContract of
                               ssekit/contract), the module's export NAME (default: its
                               default export or its only contract); each violation goes
                               to stderr with the event's name and the issue. FILE may be
                               .js/.mjs; .ts under tsx, Node's type stripping, or with tsx
                               installed in FILE's project

Connection:
      --retry N                reconnections in a row before giving up (default: 9);
                               0: never reconnect
      --idle-timeout MS        a stream silent for MS milliseconds counts as cut: resume it
                               (MS may be auto: learn the stream's cadence)
      --timeout MS             stop after MS milliseconds in all

  -h, --help                   print this help
      --version                print the version

Exit codes:
  0 done (terminal event, end of the response, or HTTP 204)   1 other failure
  2 usage error   3 the server sent an error event   4 retry limit reached
  5 an event did not match --contract
  18 cut after events and cannot be resumed   22 HTTP error or not an event stream
  28 timeout   130 interrupted (Ctrl-C)
`;

/** The version in package.json (two levels up from src/cli and from dist/cli alike). */
export function readVersion(): string {
  const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}
