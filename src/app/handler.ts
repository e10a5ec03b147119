/**
 * Handlers: Brubeck-style classes (one instance per request, one method per HTTP verb), plain functions,
 * or a map of verb → function.
 * @module
 */

import type { Logger } from 'pino';
import { ConfigError } from '../errors';
import type { Request } from '../http/request';
import type { Response } from '../http/response';
import type { Context, QueryObject } from './context';
import { METHOD_ALL, type Params } from './router';
import type { Session } from './session/session';

/**
 * A handler function. What it returns, when it has not sent anything itself, becomes the response:
 * a string → `text/plain`, a Buffer/Uint8Array → `application/octet-stream`, `ctx.res` → sent as built
 * (empty body), any other value → JSON. Returning `undefined` without sending is a 500.
 */
export type HandlerFn<B = unknown, Q = QueryObject> = (ctx: Context<B, Q>) => unknown;

/** Lowercase verb names a handler class or map may define. */
export const HANDLER_METHODS = ['get', 'head', 'post', 'put', 'patch', 'delete', 'options'] as const;

/** A verb name of {@link HANDLER_METHODS}. */
export type HandlerMethod = (typeof HANDLER_METHODS)[number];

/** `{ get, post, … }`: one function per verb. */
export type MethodMap<B = unknown, Q = QueryObject> = Partial<Record<HandlerMethod, HandlerFn<B, Q>>>;

/** A `Handler` subclass. */
export type HandlerClass<B = unknown, Q = QueryObject> = new (ctx: Context<B, Q>) => Handler<B, Q>;

/** Anything `app.route()` accepts. */
export type RouteTarget<B = unknown, Q = QueryObject> = HandlerClass<B, Q> | HandlerFn<B, Q> | MethodMap<B, Q>;

/**
 * Base class of class-based handlers (Brubeck's `WebMessageHandler`). The framework creates one instance
 * per request with the request's `Context`, awaits `prepare()`, then calls the method named after the
 * verb (`get`, `post`, …) with the same context. Define only the verbs you serve; the route answers 405
 * (with Allow) for the others, and HEAD falls back to `get`.
 * @example
 * class Hello extends Handler {
 *   async get() { return { hello: this.params['name'] }; }
 * }
 * app.route('/hello/:name', Hello);
 */
export class Handler<B = unknown, Q = QueryObject> {
  readonly ctx: Context<B, Q>;

  constructor(ctx: Context<B, Q>) {
    this.ctx = ctx;
  }

  /** The request. */
  get req(): Request {
    return this.ctx.req;
  }

  /** The response builder. */
  get res(): Response {
    return this.ctx.res;
  }

  /** Path parameters of the matched route. */
  get params(): Params {
    return this.ctx.params;
  }

  /** The request-bound logger. */
  get log(): Logger {
    return this.ctx.log;
  }

  /** Aborts on deadline, disconnect or worker stop. */
  get signal(): AbortSignal {
    return this.ctx.signal;
  }

  /** The request's session (`ctx.session`). */
  get session(): Session {
    return this.ctx.session;
  }

  /** The logged-in user (`ctx.currentUser()`). */
  currentUser<U = unknown>(): Promise<U | undefined> {
    return this.ctx.currentUser<U>();
  }

  /** Render a template as the response (`ctx.render()`). */
  render(name: string, data?: Readonly<Record<string, unknown>>, status?: number): Promise<Response> {
    return this.ctx.render(name, data, status);
  }

  /** Runs before the verb method (authentication, loading shared state). Throw `HttpError` to refuse. */
  prepare(): void | Promise<void> {
    return undefined;
  }
}

/** One verb's entry point, uniform over classes, functions and maps. */
export interface MethodInvoker<B, Q> {
  /** Uppercase verb, or `METHOD_ALL`. */
  readonly method: string;
  readonly invoke: (ctx: Context<B, Q>) => unknown;
}

/** Turn a route target into one invoker per verb it serves. Throws `ConfigError` when it serves none. */
export function methodInvokers<B, Q>(target: RouteTarget<B, Q>): MethodInvoker<B, Q>[] {
  if (isHandlerClass(target)) {
    const invokers = HANDLER_METHODS.filter((m) => typeof Reflect.get(target.prototype, m) === 'function').map(
      (m): MethodInvoker<B, Q> => ({ method: m.toUpperCase(), invoke: (ctx) => invokeClass(target, m, ctx) }),
    );
    if (invokers.length === 0) {
      throw new ConfigError([`handler class ${target.name} defines none of ${HANDLER_METHODS.join(', ')}`]);
    }
    return invokers;
  }
  if (typeof target === 'function') return [{ method: METHOD_ALL, invoke: target }];
  const invokers: MethodInvoker<B, Q>[] = [];
  for (const m of HANDLER_METHODS) {
    const fn = target[m];
    if (fn !== undefined) invokers.push({ method: m.toUpperCase(), invoke: fn });
  }
  if (invokers.length === 0) throw new ConfigError([`handler map defines none of ${HANDLER_METHODS.join(', ')}`]);
  return invokers;
}

function isHandlerClass<B, Q>(target: RouteTarget<B, Q>): target is HandlerClass<B, Q> {
  return typeof target === 'function' && target.prototype instanceof Handler;
}

/**
 * One request of a class handler: `prepare()`, then the verb method. Synchronous as long as they are (no promise
 * for a class whose `prepare` and method return plain values); a promise once either returns one. May throw.
 */
function invokeClass<B, Q>(cls: HandlerClass<B, Q>, method: HandlerMethod, ctx: Context<B, Q>): unknown {
  const instance = new cls(ctx);
  const prepared = instance.prepare();
  if (isPromiseLike(prepared)) return Promise.resolve(prepared).then(() => callVerb(cls, instance, method, ctx));
  return callVerb(cls, instance, method, ctx);
}

function callVerb<B, Q>(cls: HandlerClass<B, Q>, instance: Handler<B, Q>, method: HandlerMethod, ctx: Context<B, Q>): unknown {
  const fn: unknown = Reflect.get(instance, method);
  // Checked at registration; re-checked because a prototype can change after that.
  if (typeof fn !== 'function') throw new TypeError(`${cls.name}.${method} is not a function`);
  return fn.call(instance, ctx);
}

/** A thenable: what `await` would wait for. */
export function isPromiseLike(x: unknown): x is PromiseLike<unknown> {
  return (typeof x === 'object' || typeof x === 'function') && x !== null && typeof (x as { then?: unknown }).then === 'function';
}
