/**
 * The `ssekit` command: curl for event streams. `runCli` takes its whole environment as
 * arguments (streams, env, fetch, an interrupt signal) so tests run it in-process; bin.ts wires it
 * to the real process.
 *
 * @module
 */
import { textDelta } from '../_internal/text-delta.ts';
import { fetchEventStream } from '../client/fetch-event-stream.ts';
import type { FetchLike } from '../client/types.ts';
import type { AnyContract } from '../contract/define-contract.ts';
import { ResponseError, ServerError, StreamError } from '../errors.ts';
import type { ServerSentEvent } from '../protocol/types.ts';
import { type CliOptions, parseCliArgs, UsageError } from './args.ts';
import { checkEvent, loadContract } from './contract.ts';
import { type ExitCode, exitCodes } from './exit-codes.ts';
import {
  type CliEnv,
  colorEnabled,
  createPaint,
  describeError,
  escapeControls,
  formatJsonLine,
  formatPretty,
  type Paint,
} from './format.ts';
import { HELP, readVersion } from './help.ts';
import { teeEventStreams } from './raw.ts';
import { buildRequest, type RequestIo, type RequestParts } from './request.ts';

/** An output stream: `process.stdout` or anything with a compatible `write`. */
export interface CliWritable {
  /** Returns false when the caller should wait for `drain` (if `once` exists). */
  write(chunk: string | Uint8Array): boolean;
  once?(event: 'drain', listener: () => void): unknown;
  isTTY?: boolean | undefined;
}

/** The environment of a run; bin.ts passes the real process's. */
export interface CliIo extends RequestIo {
  stdout: CliWritable;
  stderr: CliWritable;
  /** Reads NO_COLOR, FORCE_COLOR and TERM. @default {} */
  env?: CliEnv | undefined;
  /** @default globalThis.fetch */
  fetch?: FetchLike | undefined;
  /** Aborting it interrupts the run (SIGINT): the stream closes and the exit code is 130. */
  signal?: AbortSignal | undefined;
  /** What `--contract` paths are relative to. @default process.cwd() */
  cwd?: string | undefined;
}

/** The client's default `maxAttempts` (10) is 9 reconnections after the first failure. */
const DEFAULT_RETRIES = 9;

/**
 * Runs `ssekit` with `argv` (the arguments after the program name) and resolves with the exit
 * code. It never rejects: every failure is reported on `io.stderr` and mapped to an exit code.
 *
 * @example
 * ```ts
 * const code = await runCli(['http://localhost:3000/events', '--json'], process);
 * process.exitCode = code;
 * ```
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  const report = createReporter(io.stderr, io.env ?? {});
  try {
    const command = parseCliArgs(argv);
    if (command.kind === 'help') return await done(io.stdout, HELP);
    if (command.kind === 'version') return await done(io.stdout, `${readVersion()}\n`);
    const { options } = command;
    const contract = options.contract
      ? await loadContract(options.contract, io.cwd ?? process.cwd())
      : undefined;
    const request = await buildRequest(options, io);
    return await stream(options, request, io, report, contract);
  } catch (error) {
    if (error instanceof UsageError) {
      await report('red', `${error.message}\nRun 'ssekit --help' for usage.`);
      return exitCodes.usage;
    }
    // A bug: the stack is what a bug report needs.
    await report('red', `unexpected error: ${error instanceof Error ? error.stack : error}`);
    return exitCodes.failure;
  }
}

async function done(stdout: CliWritable, text: string): Promise<ExitCode> {
  await writeTo(stdout, text);
  return exitCodes.ok;
}

const INTERRUPTED = Symbol('interrupted');
const TIMED_OUT = Symbol('timed out');

async function stream(
  options: CliOptions,
  request: RequestParts,
  io: CliIo,
  report: Reporter,
  contract: AnyContract | undefined,
): Promise<ExitCode> {
  const run = startRun(io.signal, options.timeoutMs);
  const print = createPrinter(options, io);
  const check = contract ? createChecker(contract, report) : undefined;
  const fetchImpl = io.fetch ?? globalThis.fetch.bind(globalThis);
  let terminal: ServerSentEvent | undefined;
  let printed: ServerSentEvent | undefined;
  let reconnecting: 'failure' | 'planned' | undefined;
  try {
    const events = fetchEventStream(options.url, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      fetch:
        options.output === 'raw'
          ? teeEventStreams(fetchImpl, (chunk) => writeTo(io.stdout, chunk))
          : fetchImpl,
      signal: run.signal,
      lastEventId: options.lastEventId,
      retry: retryOption(options.retries),
      idleTimeoutMs: options.idleTimeoutMs,
      onOpen(response) {
        if (reconnecting) {
          const what = reconnecting === 'planned' ? 'resumed' : 'reconnected';
          void report('yellow', `${what} (HTTP ${response.status})`);
        }
        reconnecting = undefined;
      },
      onRetry(info) {
        reconnecting = isPlannedEnd(info.error) ? 'planned' : 'failure';
        void report('yellow', retryNotice(info, options, events.lastEventId));
      },
      onClose(info) {
        terminal = info.event;
      },
    });
    for await (const event of events) {
      printed = event;
      await print(event);
      await check?.(event, false);
    }
    // A terminal event that was not delivered (`done`, `[DONE]`) is printed last, but for --text.
    const marker = terminal !== printed && options.output !== 'text' ? terminal : undefined;
    if (marker) await print(marker);
    if (terminal && terminal !== printed) await check?.(terminal, true);
    await print.end?.();
    return (await check?.end()) ?? exitCodes.ok;
  } catch (error) {
    // the `error` event
    if (terminal && terminal !== printed && options.output !== 'text') await print(terminal);
    await print.end?.();
    await check?.end();
    return await fail(error, options, report);
  } finally {
    run.end();
  }
}

/** The server ended the response asking to be resumed (a `retry:` hint: ssekit's deadline). */
function isPlannedEnd(error: unknown): boolean {
  return (
    StreamError.isInstance(error) && error.code === 'ended-early' && /asked/.test(error.message)
  );
}

/**
 * What a run needs while it streams: one signal for everything that stops it early (an interrupt,
 * `--timeout`), and a handle that keeps the process alive.
 */
function startRun(
  interruptSignal: AbortSignal | undefined,
  timeoutMs: number | undefined,
): { signal: AbortSignal; end(): void } {
  const stopper = new AbortController();
  const interrupt = () => stopper.abort(INTERRUPTED);
  if (interruptSignal?.aborted) interrupt();
  else interruptSignal?.addEventListener('abort', interrupt, { once: true });
  const timer =
    timeoutMs === undefined ? undefined : setTimeout(() => stopper.abort(TIMED_OUT), timeoutMs);
  // The client's timers are unref'd so they never hold a process open on their own; a CLI waiting
  // to reconnect must stay alive, so this handle is ref'd for as long as the stream runs.
  const keepAlive = setInterval(() => {}, 2 ** 30);
  return {
    signal: stopper.signal,
    end() {
      clearTimeout(timer);
      clearInterval(keepAlive);
      interruptSignal?.removeEventListener('abort', interrupt);
    },
  };
}

function retryOption(retries: number | undefined): { maxAttempts: number } | false {
  // maxAttempts counts failed attempts, the first included: N reconnections are N + 1 attempts.
  return retries === 0 ? false : { maxAttempts: (retries ?? DEFAULT_RETRIES) + 1 };
}

function retryNotice(
  info: { attempt: number; delayMs: number; error: unknown },
  options: CliOptions,
  lastEventId: string,
): string {
  const after = lastEventId === '' ? '' : ` after id ${JSON.stringify(lastEventId)}`;
  if (isPlannedEnd(info.error)) {
    return `the server ended the response and asked to be resumed\nresuming in ${info.delayMs} ms${after}`;
  }
  const from = after === '' ? '' : `, resuming${after}`;
  const of = options.retries ?? DEFAULT_RETRIES;
  return `connection lost: ${describeError(info.error)}\nreconnecting in ${info.delayMs} ms (retry ${info.attempt} of ${of})${from}`;
}

/** Reports how the stream failed and returns the matching exit code. */
async function fail(error: unknown, options: CliOptions, report: Reporter): Promise<ExitCode> {
  if (error === INTERRUPTED) return exitCodes.interrupted;
  if (error === TIMED_OUT) {
    await report('red', `timed out after ${options.timeoutMs} ms (--timeout)`);
    return exitCodes.timeout;
  }
  await report('red', describeFailure(error));
  if (ResponseError.isInstance(error)) return exitCodes.httpError;
  if (ServerError.isInstance(error)) return exitCodes.serverError;
  if (!StreamError.isInstance(error)) return exitCodes.failure;
  if (error.code === 'retry-limit') return exitCodes.retryLimit;
  if (error.code === 'idle-timeout') return exitCodes.timeout;
  if (error.code === 'stream-cut') {
    const idle = StreamError.isInstance(error.cause) && error.cause.code === 'idle-timeout';
    return idle ? exitCodes.timeout : exitCodes.streamCut;
  }
  return exitCodes.failure;
}

function describeFailure(error: unknown): string {
  if (ServerError.isInstance(error)) return `the server sent an error event: ${error.message}`;
  const response = ResponseError.isInstance(error)
    ? error
    : StreamError.isInstance(error) && ResponseError.isInstance(error.cause)
      ? error.cause
      : undefined;
  const body = response?.body.trim();
  return body ? `${describeError(error)}\n${body}` : describeError(error);
}

interface Printer {
  (event: ServerSentEvent): Promise<void> | undefined;
  /** Finishes the output (the last line of `--text` on a terminal). */
  end?: () => Promise<void> | undefined;
}

function createPrinter(options: CliOptions, io: CliIo): Printer {
  if (options.output === 'raw') return () => undefined; // the tee writes the bytes
  if (options.output === 'json') return (event) => writeTo(io.stdout, formatJsonLine(event));
  if (options.output === 'text') return createTextPrinter(io.stdout);
  const pretty = {
    paint: createPaint(colorEnabled(io.stdout.isTTY, io.env ?? {})),
    terminal: io.stdout.isTTY === true,
  };
  return (event) => writeTo(io.stdout, formatPretty(event, pretty));
}

/** `--text`: the text deltas as they come; on a terminal, a final newline keeps the prompt apart. */
function createTextPrinter(stdout: CliWritable): Printer {
  let last = '\n';
  const print: Printer = (event) => {
    const text = textDelta(event);
    if (!text) return undefined;
    last = text;
    return writeTo(stdout, stdout.isTTY ? escapeControls(text) : text);
  };
  print.end = () => (stdout.isTTY && !last.endsWith('\n') ? writeTo(stdout, '\n') : undefined);
  return print;
}

interface Checker {
  (event: ServerSentEvent, terminal: boolean): Promise<void>;
  /** Reports the count of violations: resolves with exit code 5 when there were any. */
  end(): Promise<ExitCode | undefined>;
}

/** `--contract`: each violation on stderr as it happens, with its code, event name and issues. */
function createChecker(contract: AnyContract, report: Reporter): Checker {
  let checked = 0;
  let violations = 0;
  const check: Checker = async (event, terminal) => {
    checked++;
    const violation = await checkEvent(contract, event, terminal);
    if (!violation) return;
    violations++;
    await report('red', `${violation.code}: ${violation.message}`);
  };
  check.end = async () => {
    if (violations === 0) return undefined;
    const of = `${violations} of ${checked} event${checked === 1 ? '' : 's'}`;
    await report('red', `${of} did not match the contract (--contract)`);
    return exitCodes.contractViolation;
  };
  return check;
}

/** Writes `ssekit: message` lines to stderr, coloured like the rest when colour is on. */
type Reporter = (style: 'red' | 'yellow', message: string) => Promise<void>;

function createReporter(stderr: CliWritable, env: CliEnv): Reporter {
  const paint: Paint = createPaint(colorEnabled(stderr.isTTY, env));
  const clean = stderr.isTTY ? escapeControls : (text: string) => text;
  return async (style, message) => {
    const lines = clean(message)
      .split('\n')
      .map((line) => paint(style, `ssekit: ${line}`));
    await writeTo(stderr, `${lines.join('\n')}\n`);
  };
}

/** Writes, and waits for `drain` when the stream asks for it (backpressure reaches the server). */
function writeTo(output: CliWritable, chunk: string | Uint8Array): Promise<void> | undefined {
  if (output.write(chunk) || !output.once) return undefined;
  return new Promise((resolve) => output.once?.('drain', resolve));
}
