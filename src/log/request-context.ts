/**
 * The request a piece of code runs for, through `AsyncLocalStorage` (issue #21 item 3): with `asyncContext` on, every
 * request runs inside `requestStorage`, and a logger with {@link requestMixin} adds `requestId` to every line written
 * while it runs — also lines of loggers that never saw `ctx` (a database module's). Off by default: on Node 20 an
 * AsyncLocalStorage that was ever entered turns on promise hooks for the whole process, which made every promise
 * about three times as expensive in a micro benchmark; `ctx.log` and m2pool's own request lines carry the id
 * without it.
 * @module
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** What the storage holds for one request (the framework passes its `Request`). */
export interface RequestScope {
  readonly requestId: string;
}

/** The storage type. */
export type RequestStorage = AsyncLocalStorage<RequestScope>;

/** The one storage m2pool runs requests in when `asyncContext` is on. Never entered otherwise. */
export const requestStorage: RequestStorage = new AsyncLocalStorage<RequestScope>();

/** Run `fn` with `scope` as the current request. */
export function runInRequestScope<T>(storage: RequestStorage, scope: RequestScope, fn: () => T): T {
  return storage.run(scope, fn);
}

/** The id of the request the caller runs for, when `asyncContext` is on and it runs inside one; else undefined. */
export function currentRequestId(): string | undefined {
  return requestStorage.getStore()?.requestId;
}

/** Marks a logger whose bindings already hold `requestId` (pino children inherit it with the bindings). */
const REQUEST_BOUND = Symbol('m2pool.requestBound');

/** Record that `logger` (a child with `requestId` in its bindings) needs no `requestId` from the mixin. */
export function markRequestBound<L extends object>(logger: L): L {
  Reflect.set(logger, REQUEST_BOUND, true);
  return logger;
}

/**
 * A pino `mixin`: `{ requestId }` on lines written while a request runs (with `asyncContext` on), unless the logger
 * is a request's own child (`ctx.log`), which has it bound already. A fresh object each time: pino merges into it.
 * @example const log = pino({ mixin: requestMixin }); // log.info('query') inside a request carries its requestId
 */
export function requestMixin(_merge?: object, _level?: number, logger?: object): Record<string, string> {
  const scope = requestStorage.getStore();
  if (scope === undefined || (logger !== undefined && Reflect.get(logger, REQUEST_BOUND) === true)) return {};
  return { requestId: scope.requestId };
}
