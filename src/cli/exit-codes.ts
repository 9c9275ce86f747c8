/**
 * The exit codes of the `ssekit` CLI, one per way a run can end, so scripts can tell them apart.
 * 22 and 28 are curl's codes for the same situations (`curl -f` on an HTTP error, a timeout).
 * docs/cli.md has the same table; a test keeps the two in step.
 */
export const exitCodes = {
  /** The stream finished: a terminal event, the end of the response, or HTTP 204. */
  ok: 0,
  /** Any other failure: a network error with `--retry 0`, an oversized event, a bug. */
  failure: 1,
  /** A bad command line, or a `-d @file` that cannot be read. */
  usage: 2,
  /** The server sent `event: error`. */
  serverError: 3,
  /** Reconnection gave up: `--retry N` reconnections in a row failed. */
  retryLimit: 4,
  /**
   * `--contract`: the stream ended, and at least one event did not match the contract (each
   * violation is on stderr). A failure of the stream itself keeps its own code.
   */
  contractViolation: 5,
  /**
   * The stream was cut after events and cannot be resumed (no event id, not a GET: the request is
   * never sent twice). 18 is curl's code for a partial transfer.
   */
  streamCut: 18,
  /** The server answered, but not with an event stream: a non-2xx status or another content type. */
  httpError: 22,
  /** `--timeout` elapsed, or a stream that went idle (`--idle-timeout`) and cannot be resumed. */
  timeout: 28,
  /** SIGINT (Ctrl-C): the stream was closed cleanly. */
  interrupted: 130,
} as const;

/** One of {@link exitCodes}. */
export type ExitCode = (typeof exitCodes)[keyof typeof exitCodes];
