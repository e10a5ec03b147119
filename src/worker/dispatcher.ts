/**
 * What the worker runtime needs from an application: the structural contract `App` satisfies.
 * Kept here so the runtime depends on a shape, not on the framework.
 * @module
 */
import type { Logger } from 'pino';
import type { ReplySink } from '../http/sink';
import type { RawMessage } from '../protocol/types';

/** How one dispatched request ended, as the app reports it. */
export interface DispatchSummary {
  readonly outcome: 'response' | 'error' | 'timeout' | 'aborted';
  readonly status: number;
  /** Route pattern as registered (never the raw path): safe as a metric label. */
  readonly route: string;
  readonly method: string;
  readonly bytesSent: number;
  readonly closed: boolean;
  readonly durationMs: number;
}

/** Anything that turns a request into bytes on a sink and never rejects. */
export interface RequestDispatcher {
  dispatch(msg: RawMessage, sink: ReplySink, options: { signal: AbortSignal; logger: Logger }): Promise<DispatchSummary>;
}

/** Duck-type check used when loading a user's app module. */
export function isRequestDispatcher(x: unknown): x is RequestDispatcher {
  return typeof x === 'object' && x !== null && typeof (x as { dispatch?: unknown }).dispatch === 'function';
}
