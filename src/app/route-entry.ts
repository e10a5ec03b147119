/**
 * A registered route as the dispatcher sees it: a label, a deadline, and a `run` that validates the
 * request and calls the handler with a typed `Context`.
 * @module
 */

import { ConfigError } from '../errors';
import { HttpError } from '../http/http-error';
import { Context, type ContextInit, type QueryObject } from './context';
import type { MethodInvoker } from './handler';
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
}

/** setTimeout's maximum delay; longer values fire at once. */
export const MAX_TIMEOUT_MS = 2_147_483_647;

// Methods whose body is not validated: they do not carry one in practice.
const NO_BODY = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Build the router entry for one verb of a route. */
export function createRouteEntry<B, Q>(
  label: string,
  routeInvoker: MethodInvoker<B, Q>,
  options: RouteOptions<B, Q>,
  loginUrl = '/login',
): RouteEntry {
  let invoker = routeInvoker;
  if (options.timeoutMs !== undefined) checkTimeout(`timeoutMs of route ${label}`, options.timeoutMs);
  if (options.auth !== undefined && options.auth !== 'api' && options.auth !== 'page') {
    throw new ConfigError([`auth of route ${label} must be 'api' or 'page', got ${JSON.stringify(options.auth)}`]);
  }
  if (options.auth !== undefined) invoker = guarded(invoker, options.auth, loginUrl);
  const { body: bodySchema, query: querySchema } = options;
  if (bodySchema === undefined && querySchema === undefined) {
    // NOTE: without a schema B and Q keep their defaults (see below): `undefined` is the body.
    return { label, timeoutMs: options.timeoutMs, retry: options.retry, run: (init: ContextInit): unknown => invoker.invoke(new Context<B, Q>(init, undefined as B)) };
  }
  return {
    label,
    timeoutMs: options.timeoutMs,
    retry: options.retry,
    async run(init: ContextInit): Promise<unknown> {
      const query = querySchema === undefined ? undefined : await validateOrThrow(querySchema, init.req.query);
      const body =
        bodySchema === undefined || NO_BODY.has(init.req.method)
          ? undefined
          : await validateOrThrow(bodySchema, await bodyForValidation(init.req));
      // NOTE: without a schema, B and Q keep their defaults (unknown / QueryObject), which `undefined` and
      // `req.query` (what Context falls back to, parsed only if read) satisfy; TypeScript cannot see that link.
      const ctx = querySchema === undefined ? new Context<B, Q>(init, body as B) : new Context<B, Q>(init, body as B, query as Q);
      return await invoker.invoke(ctx);
    },
  };
}

/** Throw `ConfigError` unless `ms` is an integer in 1..MAX_TIMEOUT_MS. */
export function checkTimeout(what: string, ms: number): void {
  if (!Number.isInteger(ms) || ms < 1 || ms > MAX_TIMEOUT_MS) {
    throw new ConfigError([`${what} must be an integer in 1..${MAX_TIMEOUT_MS}, got ${ms}`]);
  }
}

/**
 * The auth guard (Brubeck's `@authenticated` / `@web_authenticated`): the handler runs only for a logged-in user;
 * otherwise `api` throws 401 and `page` redirects to the login URL with the asked-for path in `next`.
 */
function guarded<B, Q>(invoker: MethodInvoker<B, Q>, mode: 'api' | 'page', loginUrl: string): MethodInvoker<B, Q> {
  return {
    method: invoker.method,
    async invoke(ctx: Context<B, Q>): Promise<unknown> {
      const user = await ctx.currentUser();
      if (user !== undefined) return invoker.invoke(ctx);
      if (mode === 'api') throw new HttpError(401, 'authentication required');
      // The login page itself guarded would redirect to itself forever.
      if (ctx.req.path === loginUrl) throw new HttpError(401, 'authentication required');
      await ctx.res.redirect(`${loginUrl}?next=${encodeURIComponent(ctx.req.uri)}`, 303);
      return ctx.res;
    },
  };
}
