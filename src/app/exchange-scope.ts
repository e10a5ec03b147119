/**
 * `ExchangeScope`: what a handler's `Context` is built from for one request of `handleRequest` — the request, its
 * response, params, deadline, route, the app's services (sessions, templates, auth), and (built on first read) its
 * signal and logger.
 * @module
 */

import type { Logger } from 'pino';
import type { Request } from '../http/request';
import type { Response } from '../http/response';
import type { Context, ContextInit } from './context';
import type { FinishHook } from './middleware';
import type { Params } from './router';
import type { AppServices } from './services';

/** What the scope asks of the request's exchange (handle-request.ts). */
export interface ScopeOwner {
  /** The handler's signal (built on first read). */
  readonly handlerSignal: AbortSignal;
  /** The request's child logger (built on first read). */
  readonly handlerLog: Logger;
  addFinisher(fn: FinishHook, ctx: Context): void;
}

/**
 * What a handler's `Context` is built from. A class, not an object literal with getters: V8 keeps such a
 * literal in dictionary mode with accessor pairs that outlived young-generation GCs and kept every request's
 * objects alive until a full GC (test/unit/app/hidden-class.test.ts).
 */
export class ExchangeScope implements ContextInit {
  readonly req: Request;
  readonly res: Response;
  readonly params: Params;
  readonly deadline: number;
  readonly route: string;
  readonly services: AppServices;
  readonly #exchange: ScopeOwner;

  constructor(exchange: ScopeOwner, req: Request, res: Response, params: Params, deadline: number, route: string, services: AppServices) {
    this.#exchange = exchange;
    this.services = services;
    this.req = req;
    this.res = res;
    this.params = params;
    this.deadline = deadline;
    this.route = route;
  }

  get signal(): AbortSignal {
    return this.#exchange.handlerSignal;
  }

  get log(): Logger {
    return this.#exchange.handlerLog;
  }

  onFinish(fn: FinishHook, ctx: Context): void {
    this.#exchange.addFinisher(fn, ctx);
  }
}

