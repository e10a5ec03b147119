/**
 * What the worker runtime needs from an application: a `dispatch` that never rejects. `App` satisfies it; the
 * runtime depends on this shape, not on the framework's classes.
 * @module
 */
import type { Logger } from 'pino';
import type { DispatchResult } from '../app/dispatch';
import type { ReplySink } from '../http/sink';
import type { RawMessage } from '../protocol/types';

/** How one dispatched request ended, as the app reports it. */
export type DispatchSummary = DispatchResult;

/** Anything that turns a request into bytes on a sink and never rejects. */
export interface RequestDispatcher {
  dispatch(msg: RawMessage, sink: ReplySink, options: { signal: AbortSignal; logger: Logger }): Promise<DispatchSummary>;
}

/** Duck-type check used when loading a user's app module. */
export function isRequestDispatcher(x: unknown): x is RequestDispatcher {
  return typeof x === 'object' && x !== null && typeof (x as { dispatch?: unknown }).dispatch === 'function';
}
