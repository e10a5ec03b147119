/**
 * `Context`: everything one handler invocation gets — request, response, params, deadline and signal.
 * @module
 */

import type { Logger } from 'pino';
import { ConfigError } from '../errors';
import type { MultiValueRecord } from '../http/parse';
import type { Request } from '../http/request';
import type { Response } from '../http/response';
import type { Params } from './router';
import type { AppServices } from './services';
import type { Session } from './session/session';

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
  readonly #query: Q | undefined;
  readonly #hasQuery: boolean;
  #session: Session | undefined;
  /** The current user once resolved (`{ value }`: a resolved "nobody" is `{ value: undefined }`). */
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

  /** Milliseconds left before the deadline (0 when passed): use it as the timeout of a nested call. */
  get remainingMs(): number {
    return Math.max(0, this.deadline - Date.now());
  }
}
