/** The `fetch` a client uses: the global one by default, or any compatible function. */
export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** The state of a connection: `connecting` (also while waiting to reconnect), `open`, `closed`. */
export type ReadyState = 'connecting' | 'open' | 'closed';

/** What a `resume` function gets, to build the request that resumes a stream. */
export interface ResumeContext {
  /** The URL of the first request. */
  url: string;
  /** The init of the first request (method, headers, body, ...), without `signal`. */
  init: RequestInit;
  /** The last event ID received; also sent as the `Last-Event-ID` header unless you remove it. */
  lastEventId: string;
  /** The number of the attempt about to start (2 for the first reconnection). */
  attempt: number;
}

/** Builds the request that resumes a stream: a new URL and/or init (a GET to a resume URL, say). */
export type ResumeBuilder = (context: ResumeContext) => { url?: string | URL; init?: RequestInit };

/** How `stop()` went. It never rejects: a failed cancel request is `failed` with its `error`. */
export interface StopResult {
  /**
   * - `cancelled`: the server stopped the producer;
   * - `finished`: the run had finished already; `expired`: the server no longer knows it;
   * - `not-cancellable`: no response named a run (`ssekit-run-id`, sent by ssekit's hub), or the
   *   stream had ended: only the connection was closed;
   * - `failed`: the cancel request failed (`error` says why).
   */
  outcome: 'cancelled' | 'finished' | 'expired' | 'not-cancellable' | 'failed';
  /** The run the cancel request named. */
  runId: string | undefined;
  error?: unknown;
}
