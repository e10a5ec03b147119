/**
 * What the worker runtime needs from an application: a `dispatch` that never rejects. `App` satisfies it; the
 * runtime depends on this shape, not on the framework's classes.
 * @module
 */
import type { Logger } from 'pino';
import type { App } from '../app/app';
import { Cancellation } from '../app/cancellation';
import type { DispatchResult } from '../app/handle-request';
import type { BodySource } from '../http/request';
import type { ReplySink } from '../http/sink';
import { dispatchedRequestId, newRequestId } from '../protocol/request-id';
import type { RawMessage } from '../protocol/types';

/** How one dispatched request ended, as the app reports it. */
export type DispatchSummary = DispatchResult;

/** Anything that turns a request into bytes on a sink and never rejects. */
export interface WorkerApp {
  dispatch(msg: RawMessage, sink: ReplySink, options: MessageOptions): Promise<DispatchSummary>;
}

/**
 * Options the runtime passes with every message it hands to the app. `signal` is a getter over `cancellation`:
 * an `App` listens to the cancellation, so no AbortSignal is built unless somebody reads `signal`.
 */
export interface MessageOptions {
  readonly signal: AbortSignal;
  readonly cancellation: Cancellation;
  readonly logger: Logger;
  /** The matched route's `retry` option, for the transport (see `Delivery.retryable`). */
  retryable(allowed: boolean): void;
  /** The body when it stayed on disk (a multipart async upload); the message's own body is then empty. */
  readonly bodySource: BodySource | undefined;
  /** The request id to use when the client sent none (dispatch topology: the dispatcher's number for it). */
  madeRequestId(): string;
}

/** Where a route's `retry` option goes: the request's transport delivery (which may carry the dispatcher's number). */
export interface RetryTarget {
  retryable(allowed: boolean): void;
  readonly dispatchNumber?: number;
}

const NO_RETRY_TARGET: RetryTarget = { retryable: () => undefined };

/** The options for one message: `signal` is only built if somebody reads it. */
export function messageOptions(cancellation: Cancellation, logger: Logger, retry: RetryTarget = NO_RETRY_TARGET, bodySource?: BodySource): MessageOptions {
  return new LazySignalOptions(cancellation, logger, retry, bodySource);
}

/**
 * A class rather than an object literal with a getter: V8 keeps such a literal in dictionary mode, which kept
 * requests alive until a full GC (see `ExchangeScope` in app/exchange-scope.ts).
 */
class LazySignalOptions implements MessageOptions {
  readonly cancellation: Cancellation;
  readonly logger: Logger;
  readonly bodySource: BodySource | undefined;
  readonly #retry: RetryTarget;

  constructor(cancellation: Cancellation, logger: Logger, retry: RetryTarget, bodySource: BodySource | undefined) {
    this.cancellation = cancellation;
    this.logger = logger;
    this.#retry = retry;
    this.bodySource = bodySource;
  }

  retryable(allowed: boolean): void {
    this.#retry.retryable(allowed);
  }

  madeRequestId(): string {
    const n = this.#retry.dispatchNumber;
    return n === undefined ? newRequestId() : dispatchedRequestId(n);
  }

  get signal(): AbortSignal {
    return this.cancellation.signal;
  }
}

/** The entry points an `App` has besides `dispatch`: WebSocket handshakes and frames, socket messages. */
export type MessageHandlers = Pick<App, 'dispatchHandshake' | 'dispatchFrame' | 'dispatchSocketMessage'>;

/** Duck-typed, so a plain `WorkerApp` keeps the old behaviour: handshakes 404, frames ignored. */
export function handlesMessages(app: WorkerApp): app is WorkerApp & MessageHandlers {
  const a = app as Partial<MessageHandlers>;
  return typeof a.dispatchHandshake === 'function' && typeof a.dispatchFrame === 'function' && typeof a.dispatchSocketMessage === 'function';
}

/**
 * Whether the app reads a body that stayed on disk (`MessageOptions.bodySource`): m2pool's `App` does (its
 * `req.parts()` streams it). Other apps (the fetch and node:http adapters, a plain `WorkerApp`) get every body in
 * the message, as before.
 */
export function readsBodySource(app: WorkerApp): boolean {
  return (app as { readonly readsBodySource?: unknown }).readsBodySource === true;
}

/** Apply a per-process default request timeout (`--request-timeout`), when the app supports it. */
export function applyRequestTimeout(app: WorkerApp, ms: number | undefined): void {
  const target = app as { setDefaultTimeout?: (ms: number) => void };
  if (ms !== undefined && typeof target.setDefaultTimeout === 'function') target.setDefaultTimeout(ms);
}

/** The start and stop hooks an `App` has (`app.onStart` / `app.onStop`); a plain `WorkerApp` has none. */
interface LifecycleApp {
  start(options: { timeoutMs: number }): Promise<void>;
  stop(options: { timeoutMs?: number }): Promise<void>;
  readonly startTimeoutMs?: number;
}

function hasLifecycle(app: WorkerApp): app is WorkerApp & LifecycleApp {
  const a = app as Partial<LifecycleApp>;
  return typeof a.start === 'function' && typeof a.stop === 'function';
}

/**
 * Run the app's start hooks within the app's own `startTimeoutMs` and at most `budgetMs` (what is left of the boot
 * timeout). Resolves at once for an app without hooks; rejects with the app's `M2PoolError(APP_HOOK)`.
 */
export function startApp(app: WorkerApp, budgetMs: number): Promise<void> {
  if (!hasLifecycle(app)) return Promise.resolve();
  const own = app.startTimeoutMs ?? budgetMs;
  return app.start({ timeoutMs: Math.max(1, Math.min(own, budgetMs)) });
}

/** Run the app's stop hooks (with the app's `stopTimeoutMs`). Resolves at once for an app without hooks. */
export function stopApp(app: WorkerApp): Promise<void> {
  return hasLifecycle(app) ? app.stop({}) : Promise.resolve();
}

/** Duck-type check used when loading a user's app module. */
export function isWorkerApp(x: unknown): x is WorkerApp {
  return typeof x === 'object' && x !== null && typeof (x as { dispatch?: unknown }).dispatch === 'function';
}
