/**
 * How one request ended: the result `dispatch` returns and a finish hook is told. Types only, below `context.ts`,
 * `middleware.ts` and `handle-request.ts`, which all name them.
 * @module
 */

/** How a request ended. */
export type DispatchOutcome = 'response' | 'error' | 'timeout' | 'aborted';

/** What happened to one request; every field is safe as a metric label or log field. */
export interface DispatchResult {
  /**
   * `response`: the handler answered (any status); `error`: the framework answered 4xx/5xx (404, 405, 400
   * validation, a thrown error); `timeout`: the deadline passed (504, or a close if headers were out);
   * `aborted`: `signal` fired before the response was complete.
   */
  readonly outcome: DispatchOutcome;
  /** Status of the response head handed to the sink (the one the client gets); 0 when none was. */
  readonly status: number;
  /** The route label, or `(unmatched)`; never the raw path. */
  readonly route: string;
  readonly method: string;
  /** Bytes the sink accepted during dispatch. */
  readonly bytesSent: number;
  /** Whether dispatch closed the client connection. */
  readonly closed: boolean;
  readonly durationMs: number;
  /** The request's id (`ctx.requestId`); '' when dispatch failed before the request was read, absent from apps that are not an `App`. */
  readonly requestId?: string;
}

/** What a `FinishHook` (middleware.ts) learns about the request: how it ended (see `DispatchResult`) and the thrown error. */
export interface FinishInfo extends DispatchResult {
  /** The error a handler or middleware threw, when the request failed with one. */
  readonly error?: unknown;
}
