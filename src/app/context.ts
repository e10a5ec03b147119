/**
 * `Context`: everything one handler invocation gets — request, response, params, deadline and signal.
 * @module
 */

import type { Logger } from 'pino';
import type { MultiValueRecord } from '../http/parse';
import type { Request } from '../http/request';
import type { Response } from '../http/response';
import { connOf, type Conn } from './conn';
import type { Params } from './router';

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

  /** This request's client connection, to store and push to later from any worker (`app.push`). */
  get conn(): Conn {
    return connOf(this.req);
  }

  /** Milliseconds left before the deadline (0 when passed): use it as the timeout of a nested call. */
  get remainingMs(): number {
    return Math.max(0, this.deadline - Date.now());
  }
}
