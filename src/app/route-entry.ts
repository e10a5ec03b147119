/**
 * A registered route as the dispatcher sees it: a label, a deadline, and a `run` that validates the
 * request and calls the handler with a typed `Context`.
 * @module
 */

import { ConfigError } from '../errors';
import { Context, SET_INPUT, type ContextInit, type QueryObject } from './context';
import type { MethodInvoker } from './handler';
import { DEFAULT_LOGIN_URL, requireUser } from './auth';
import { middlewareList, type Middleware, type MiddlewareOption } from './middleware';
import { bodyForValidation, validateOrThrow, type StandardSchema } from './validate';

/** Per-route options of `app.route()` and the verb shortcuts. */
export interface RouteOptions<B = unknown, Q = QueryObject> {
  /** Deadline of this route's requests in ms (1..2147483647). @default the app's `requestTimeoutMs` */
  readonly timeoutMs?: number;
  /** Schema for the body (JSON, or the form for urlencoded bodies); its output is `ctx.body`. Not applied to GET, HEAD, OPTIONS. */
  readonly body?: StandardSchema<B>;
  /** Schema for `req.query`; its output is `ctx.query`. */
  readonly query?: StandardSchema<Q>;
  /** Label for metrics and logs. @default the pattern as registered (a RegExp's `source`) */
  readonly name?: string;
  /**
   * Whether the dispatch topology may hand this route's request to another worker when the worker holding it
   * dies before any byte of its reply left (at most once; docs/dispatch-protocol.md). Set it `false` for a GET
   * with side effects, `true` for an idempotent POST/PUT. @default true for GET, HEAD and OPTIONS, else false
   */
  readonly retry?: boolean;
  /**
   * Only for a logged-in user (the app's `auth.currentUser`): without one, `api` answers 401 and `page` redirects
   * to the app's `auth.loginUrl` with `?next=` (the path asked for). The user is `await ctx.currentUser()`.
   * @default none (open to everybody)
   */
  readonly auth?: 'api' | 'page';
  /**
   * Middleware of this route only, run after the app's (`app.use`) and before the route's validation and handler
   * (so a guard answers 401 before a bad body is refused with 400). See `Middleware`. @default none
   */
  readonly middleware?: MiddlewareOption;
}

/** What the router stores for each (method, pattern). */
export interface RouteEntry {
  /** Route label: never the raw request path, so it is safe as a metric label. */
  readonly label: string;
  /** The route's own deadline, if it has one. */
  readonly timeoutMs: number | undefined;
  /** The route's `retry` option, if it set one (else the method decides). */
  readonly retry: boolean | undefined;
  /**
   * Validate, build the context and call the handler: what the handler returned. A route without a schema calls
   * the handler synchronously and returns its value as is (a promise only if the handler returned one), so a
   * synchronous handler costs no promise; it may then also throw synchronously.
   */
  run(init: ContextInit): unknown;
  /** The route's own middleware; undefined when it has none. */
  readonly middleware: readonly Middleware[] | undefined;
  /** The context for the middleware path: built before validation (`ctx.body` is set by `handle`). */
  context(init: ContextInit): Context;
  /** Validate into `ctx` (made by `context`) and call the handler: what it returned. May throw. */
  handle(ctx: Context): unknown;
}

/** setTimeout's maximum delay; longer values fire at once. */
export const MAX_TIMEOUT_MS = 2_147_483_647;

// Methods whose body is not validated: they do not carry one in practice.
const NO_BODY = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Build the router entry for one verb of a route. */
export function createRouteEntry<B, Q>(
  label: string,
  invoker: MethodInvoker<B, Q>,
  options: RouteOptions<B, Q>,
  loginUrl = DEFAULT_LOGIN_URL,
): RouteEntry {
  if (options.timeoutMs !== undefined) checkTimeout(`timeoutMs of route ${label}`, options.timeoutMs);
  if (options.auth !== undefined && options.auth !== 'api' && options.auth !== 'page') {
    throw new ConfigError([`auth of route ${label} must be 'api' or 'page', got ${JSON.stringify(options.auth)}`]);
  }
  const { body: bodySchema, query: querySchema } = options;
  // The auth guard is the route's first middleware: 401 (or the login redirect) before validation's 400.
  const own = middlewareList(`route ${label}`, options.middleware);
  const middleware = options.auth === undefined ? own : [requireUser(options.auth, loginUrl), ...(own ?? [])];
  // NOTE: a context is typed for its route (B, Q) but middleware and hooks see it as Context<unknown, QueryObject>:
  // the same object, whose body and query are only the route's schema outputs once `handle` validated them.
  const context = (init: ContextInit): Context => new Context(init, undefined);
  if (bodySchema === undefined && querySchema === undefined) {
    // NOTE: without a schema B and Q keep their defaults (see below): `undefined` is the body.
    return {
      label,
      timeoutMs: options.timeoutMs,
      retry: options.retry,
      middleware,
      run: (init: ContextInit): unknown => invoker.invoke(new Context<B, Q>(init, undefined as B)),
      context,
      handle: (ctx: Context): unknown => invoker.invoke(ctx as unknown as Context<B, Q>),
    };
  }
  const validated = async (req: ContextInit['req']): Promise<{ body: B; query: Q | undefined }> => {
    const query = querySchema === undefined ? undefined : await validateOrThrow(querySchema, req.query);
    const body = bodySchema === undefined || NO_BODY.has(req.method) ? undefined : await validateOrThrow(bodySchema, await bodyForValidation(req));
    // NOTE: without a schema, B and Q keep their defaults (unknown / QueryObject), which `undefined` and
    // `req.query` (what Context falls back to, parsed only if read) satisfy; TypeScript cannot see that link.
    return { body: body as B, query: query as Q | undefined };
  };
  return {
    label,
    timeoutMs: options.timeoutMs,
    retry: options.retry,
    middleware,
    async run(init: ContextInit): Promise<unknown> {
      const { body, query } = await validated(init.req);
      const ctx = querySchema === undefined ? new Context<B, Q>(init, body) : new Context<B, Q>(init, body, query as Q);
      return await invoker.invoke(ctx);
    },
    context,
    async handle(ctx: Context): Promise<unknown> {
      const { body, query } = await validated(ctx.req);
      const typed = ctx as unknown as Context<B, Q>;
      if (querySchema === undefined) typed[SET_INPUT](body);
      else typed[SET_INPUT](body, query as Q);
      return await invoker.invoke(typed);
    },
  };
}

/** Throw `ConfigError` unless `ms` is an integer in 1..MAX_TIMEOUT_MS. */
export function checkTimeout(what: string, ms: number): void {
  if (!Number.isInteger(ms) || ms < 1 || ms > MAX_TIMEOUT_MS) {
    throw new ConfigError([`${what} must be an integer in 1..${MAX_TIMEOUT_MS}, got ${ms}`]);
  }
}

