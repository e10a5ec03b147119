/**
 * Middleware and request hooks: the onion model of koa and hono. A middleware gets the
 * request's `Context` and `next`; what it does before `await next()` runs before the handler, what it does after
 * runs once the handler (and every inner middleware) returned, before the response is sent. App-wide middleware
 * (`app.use`) runs first, in registration order, then the route's own (`RouteOptions.middleware`), then the
 * route's validation and handler. `onError` turns a thrown error into a response; `onFinish` runs after the reply
 * was handed over, whatever the outcome.
 * @module
 */

import type { Logger } from 'pino';
import type { Context } from './context';
import type { FinishInfo } from './outcome';

export type { FinishInfo };

/**
 * Call the rest of the chain (inner middleware, then validation and the handler). Resolves with what the inner
 * part returned — the handler's return value, or `undefined` when it sent its response itself through `ctx.res` —
 * and rejects with what it threw. Call it at most once.
 */
export type Next = () => Promise<unknown>;

/**
 * A middleware. Its return value is the response, as a handler's is (a string → text/plain, bytes →
 * application/octet-stream, `ctx.res` → as built, any other value → JSON); returning `undefined` after calling
 * `next` keeps what the inner part returned. To answer early, return a value (or send on `ctx.res`) without calling
 * `next`. To change the response, change `ctx.res` (status, headers) after `await next()` or return another value;
 * a handler that already sent its response through `ctx.res` (`ctx.res.sent`) cannot be changed any more.
 * The request's deadline and `ctx.signal` cover middleware as they cover the handler.
 * @example
 * app.use(async (ctx, next) => {
 *   const started = Date.now();
 *   const value = await next();
 *   ctx.res.header('Server-Timing', `app;dur=${Date.now() - started}`);
 *   return value;
 * });
 */
export type Middleware = (ctx: Context, next: Next) => unknown;

/**
 * The app-wide error hook: called with what a handler or middleware threw (an `HttpError` included, and the
 * framework's own 404, 405 and validation 400), before the default error reply. It answers like a handler: return a
 * value, or send on `ctx.res` (which still holds the status and headers set before the throw); returning
 * `undefined` without sending keeps the default reply. Not called once the response head went out. An error it
 * throws is logged and the default reply is sent.
 * @example app.onError((err, ctx) => { ctx.res.status(isHttpError(err) ? err.status : 500); return { error: 'sorry' }; });
 */
export type ErrorHook = (err: unknown, ctx: Context) => unknown;


/**
 * Runs once per request after its reply was handed to the transport — also after an error reply, a deadline (504
 * or a close) and a client disconnect (`outcome: 'aborted'`). Dispatch waits for it (so the worker's drain does), so
 * keep it short; what it throws or rejects with is logged and changes nothing. `ctx.onFinish(fn)` registers one for a
 * single request.
 * @example app.onFinish((ctx, info) => metrics.observe(info.route, info.status, info.durationMs));
 */
export type FinishHook = (ctx: Context, info: FinishInfo) => unknown;

/** A route's `middleware` option: one middleware or a list. */
export type MiddlewareOption = Middleware | readonly Middleware[];

/** The option as a list (undefined when empty), checked: every element must be a function. */
export function middlewareList(what: string, option: MiddlewareOption | undefined): readonly Middleware[] | undefined {
  if (option === undefined) return undefined;
  const list = typeof option === 'function' ? [option] : [...option];
  for (const mw of list) if (typeof mw !== 'function') throw new TypeError(`${what}: middleware must be a function, got ${typeof mw}`);
  return list.length === 0 ? undefined : list;
}

/**
 * Run `first` then `second` (either may be empty) around `core`, koa-compose style: each middleware's `next` calls
 * the following one. Resolves with the outermost middleware's result (see {@link Middleware}); rejects with what
 * escaped the chain.
 */
export function runChain(ctx: Context, first: readonly Middleware[], second: readonly Middleware[] | undefined, core: (ctx: Context) => unknown): Promise<unknown> {
  const total = first.length + (second?.length ?? 0);
  const step = (i: number): Promise<unknown> => {
    if (i === total) return Promise.resolve().then(() => core(ctx));
    const mw = (i < first.length ? first[i] : second?.[i - first.length]) as Middleware;
    let called = false;
    let inner: unknown;
    const next: Next = () => {
      if (called) return Promise.reject(new Error('next() called more than once'));
      called = true;
      return step(i + 1).then((value) => {
        inner = value;
        return value;
      });
    };
    return Promise.resolve()
      .then(() => mw(ctx, next))
      .then((value) => (value === undefined && called ? inner : value));
  };
  return step(0);
}

/**
 * Run the app's finish hooks with `ctx` (made only when there are any), then the request's own (`ctx.onFinish`)
 * with the context that registered each; one after the other, each awaited. What a hook throws is logged.
 */
export async function runFinishHooks(
  ctx: Context | undefined,
  appHooks: readonly FinishHook[],
  own: ReadonlyArray<{ readonly fn: FinishHook; readonly ctx: Context }>,
  info: FinishInfo,
  log: Logger,
): Promise<void> {
  const call = async (hook: FinishHook, c: Context): Promise<void> => {
    try {
      await hook(c, info);
    } catch (err) {
      log.error({ err }, 'onFinish hook failed');
    }
  };
  if (ctx !== undefined) for (const hook of appHooks) await call(hook, ctx);
  for (const { fn, ctx: c } of own) await call(fn, c);
}
