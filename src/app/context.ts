/**
 * `Context`: everything one handler invocation gets — request, response, params, deadline and signal.
 * @module
 */

import type { Logger } from 'pino';
import { ConfigError } from '../errors';
import type { MultiValueRecord } from '../http/parse';
import type { Request } from '../http/request';
import type { Response } from '../http/response';
import type { FinishInfo } from './outcome';
import { connOf, type Conn } from './conn';
import type { Params } from './router';
import type { Session, SessionManager } from './session/session';
import type { ErrorPages, TemplateEngine } from './templates/engine';
import type { TraceContext } from '../protocol/request-id';

/** How the app finds who is logged in, for guarded routes (`auth` route option) and `ctx.currentUser()`. */
export interface AuthOptions {
  /**
   * The logged-in user of a request, or undefined/null for none. Usually reads the session:
   * `async (ctx) => ctx.session.get('user')`.
   */
  readonly currentUser: (ctx: Context<unknown, unknown>) => unknown;
  /** Where a guarded page (`auth: 'page'`) sends a client that is not logged in; `?next=` carries the page. @default '/login' */
  readonly loginUrl?: string;
}

/** What `Context` can reach of the app. */
export interface AppServices {
  readonly sessions: SessionManager | undefined;
  readonly templates: TemplateEngine | undefined;
  readonly errorPages: ErrorPages;
  readonly auth: AuthOptions | undefined;
}

/**
 * Per-request variables set by middleware (`ctx.set`) and read by later middleware and the handler (`ctx.get`).
 * Augment it to type your keys (hono's `ContextVariableMap`):
 * @example declare module 'm2pool' { interface ContextVariableMap { user: { name: string } } }
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- empty on purpose: apps add their keys by declaration merging
export interface ContextVariableMap {}

/** A key of {@link ContextVariableMap}, or any other string (then the value is `unknown`). */
export type ContextKey = keyof ContextVariableMap | (string & {});

/** The value type of `key`. */
export type ContextValue<K extends ContextKey> = K extends keyof ContextVariableMap ? ContextVariableMap[K] : unknown;

/** Key of the internal method that sets a context's validated input (not exported from the package). */
export const SET_INPUT = Symbol('m2pool.setInput');

/** The default type of `ctx.query` when the route has no query schema. */
export type QueryObject = MultiValueRecord;

/**
 * The per-request parts the framework builds before validation. `signal` and `log` may be getters: the
 * framework creates them only when a handler reads them.
 */
export interface ContextInit {
  readonly req: Request;
  readonly res: Response;
  readonly params: Params;
  readonly signal: AbortSignal;
  readonly log: Logger;
  readonly deadline: number;
  readonly route: string;
  /** The app's sessions, templates and auth (`NO_SERVICES` when it has none). */
  readonly services: AppServices;
  /** Register a per-request finish hook for `ctx` (see `Context.onFinish`). */
  onFinish(fn: (ctx: Context, info: FinishInfo) => unknown, ctx: Context): void;
}

/**
 * The handler's view of one request. `B` and `Q` are the outputs of the route's body and query schemas;
 * without a body schema `body` is `undefined`, without a query schema `query` is `req.query`.
 *
 * Concurrence's rule applies: pass `signal` to everything that waits (fetch, timers, queries). It aborts
 * when the deadline passes (reason: a `TimeoutError` DOMException), when the client disconnects or when
 * the worker stops (reason: what the caller of `dispatch` gave).
 */
export class Context<B = unknown, Q = QueryObject> {
  readonly req: Request;
  readonly res: Response;
  readonly params: Params;
  readonly #init: ContextInit;
  /** Epoch milliseconds after which the request times out. */
  readonly deadline: number;
  /** The route label (pattern as registered, or its `name`). */
  readonly route: string;
  /** The validated body (the body schema's output). */
  readonly body: B;
  /** The query schema's output; unset without a schema (then `query` is `req.query`, parsed on first read). */
  #query: Q | undefined;
  #hasQuery: boolean;
  #vars: Map<string, unknown> | undefined;
  #session: Session | undefined;
  /** The current user, once `currentUser()` was called. */
  #user: Promise<unknown> | undefined;

  /** `query`: the query schema's output; omit it when the route has no query schema. */
  constructor(init: ContextInit, body: B, ...query: [] | [Q]) {
    this.req = init.req;
    this.res = init.res;
    this.params = init.params;
    this.#init = init;
    this.deadline = init.deadline;
    this.route = init.route;
    this.body = body;
    this.#hasQuery = query.length === 1;
    this.#query = query[0];
  }

  /** The validated query (the query schema's output), or `req.query`. */
  get query(): Q {
    // NOTE: without a schema Q is QueryObject (see createRouteEntry), which `req.query` is.
    return this.#hasQuery ? (this.#query as Q) : (this.req.query as Q);
  }

  /** Aborts at the deadline, on client disconnect, or when the worker stops (see the class comment). */
  get signal(): AbortSignal {
    return this.#init.signal;
  }

  /** Child logger bound to this request (`route`, `method`, `connId`). */
  get log(): Logger {
    return this.#init.log;
  }

  /**
   * This request's session (`new App({ sessions })`). Nothing is read until a method is called: see `Session`.
   * Throws `ConfigError` when the app has no sessions.
   * @example await ctx.session.set('visits', ((await ctx.session.get<number>('visits')) ?? 0) + 1);
   */
  get session(): Session {
    if (this.#session !== undefined) return this.#session;
    const sessions = this.#init.services.sessions;
    if (sessions === undefined) throw new ConfigError(['ctx.session needs sessions: new App({ sessions: { store, secrets } })']);
    this.#session = sessions.open(this.req, this.res, () => this.log);
    return this.#session;
  }

  /**
   * The logged-in user as the app's `auth.currentUser` resolves it (once per request), or undefined. Throws
   * `ConfigError` when the app has no `auth`.
   */
  currentUser<U = unknown>(): Promise<U | undefined> {
    const auth = this.#init.services.auth;
    if (auth === undefined) return Promise.reject(new ConfigError(['ctx.currentUser() needs auth: new App({ auth: { currentUser } })']));
    this.#user ??= Promise.resolve()
      .then(() => auth.currentUser(this as Context<unknown, unknown>))
      .then((user) => user ?? undefined);
    return this.#user as Promise<U | undefined>;
  }

  /**
   * Render template `name` with `data` (`new App({ templates })`) and send it as `text/html` with `status`.
   * Values are HTML-escaped by the engine (see `LiquidTemplates`).
   * @example return ctx.render('profile', { user });
   */
  async render(name: string, data: Readonly<Record<string, unknown>> = {}, status?: number): Promise<Response> {
    const templates = this.#init.services.templates;
    if (templates === undefined) throw new ConfigError(['ctx.render() needs templates: new App({ templates: new LiquidTemplates({ root }) })']);
    const html = await templates.render(name, data);
    await this.res.html(html, status);
    return this.res;
  }

  /**
   * This request's id: the client's `X-Request-Id` when it is valid (1–128 characters of letters, digits and
   * `-._:+=/@`), else the trace id of a valid W3C `traceparent`, else one made by m2pool (unique per process run).
   * It is on every log line of `ctx.log` and echoed in the response's `X-Request-Id` header.
   */
  get requestId(): string {
    return this.req.requestId;
  }

  /** The request's W3C trace context (a valid `traceparent` header), if it came with one. */
  get trace(): TraceContext | undefined {
    return this.req.trace;
  }

  /** Set a per-request variable for later middleware and the handler (see {@link ContextVariableMap}). */
  set<K extends ContextKey>(key: K, value: ContextValue<K>): void {
    (this.#vars ??= new Map()).set(key, value);
  }

  /** A variable set by `set` earlier in this request, or `undefined`. */
  get<K extends ContextKey>(key: K): ContextValue<K> | undefined {
    return this.#vars?.get(key) as ContextValue<K> | undefined;
  }

  /**
   * Run `fn` once after this request's reply was handed over (any outcome: response, error, deadline, client
   * disconnect), after the app's `onFinish` hooks. Use it to release what this request took (a pooled connection).
   * What it throws is logged.
   */
  onFinish(fn: (ctx: Context, info: FinishInfo) => unknown): void {
    // NOTE: a Context<B, Q> is handed to hooks typed for Context<unknown, QueryObject> (see route-entry.ts).
    this.#init.onFinish(fn, this as unknown as Context);
  }

  /**
   * Set the validated body and query once the route's schemas ran. Internal: a route with middleware builds its
   * context before validating, so that middleware runs first (a 401 before a 400).
   * @internal
   */
  [SET_INPUT](body: B, ...query: [] | [Q]): void {
    (this as { body: B }).body = body;
    this.#hasQuery = query.length === 1;
    this.#query = query[0];
  }

  /** This request's client connection, to store and push to later from any worker (`app.push`). */
  get conn(): Conn {
    return connOf(this.req);
  }

  /** Milliseconds left before the deadline (0 when passed): use it as the timeout of a nested call. */
  get remainingMs(): number {
    return Math.max(0, this.deadline - Date.now());
  }
}
