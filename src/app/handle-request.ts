/**
 * `handleRequest`: the handling of one HTTP request, router → middleware and handler → response (what
 * `App.dispatch` runs): one request message in, exactly one outcome out. Never rejects. The request runs under a
 * deadline; an external signal (client gone, worker stopping) cuts it off. Not to be confused with `src/dispatch/`
 * (the dispatcher process) or the "dispatch" topology.
 * @module
 */

import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { HttpError } from '../http/http-error';
import { Request, type BodySource } from '../http/request';
import { Response } from '../http/response';
import { outletFor } from '../http/http-wire';
import type { ResponseOutlet } from '../http/outlet';
import type { ReplySink } from '../http/sink';
import { statusText } from '../protocol/status-text';
import type { RawMessage, UploadInfo } from '../protocol/types';
import type { RequestOptions } from '../http/request';
import { Cancellation, onAbort, type AbortSource } from './cancellation';
import { Context, type ContextInit } from './context';
import { isPromiseLike } from './handler';
import { ExchangeScope } from './exchange-scope';
import { runChain, runFinishHooks, type ErrorHook, type FinishHook, type FinishInfo, type Middleware } from './middleware';
import { markRequestBound, runInRequestScope, type RequestStorage } from '../log/request-context';
import { Parked } from './parked';
import type { RouteEntry } from './route-entry';
import type { AppServices } from './services';
import type { TemplateEngine } from './templates/engine';
import { errorReply, sendErrorReply, sendReturnValue, type ErrorReply } from './respond';
import type { Params, RouteMatch, Router } from './router';
import { GatedOutlet } from './sinks';
import { UNMATCHED_ROUTE } from '../metrics/labels';
import type { DispatchOutcome, DispatchResult } from './outcome';

export type { DispatchOutcome, DispatchResult };


/** Per-call options of `App.dispatch`. */
export interface DispatchOptions {
  /** Aborts the request: client disconnected or worker stopping. Nothing more is sent once it fires. */
  readonly signal?: AbortSignal;
  /** The same as `signal`, without building an `AbortSignal` per request (the worker's hot path); wins over `signal`. */
  readonly cancellation?: Cancellation;
  /** Logger for this request. @default the app's logger */
  readonly logger?: Logger;
  /** A completed async upload, passed through as `req.upload`. */
  readonly upload?: UploadInfo;
  /** The body when it stayed on disk (a multipart async upload): `req.bodyStream()` reads it. */
  readonly bodySource?: BodySource | undefined;
  /** Told the matched route's `retry` option, when it has one (the worker passes it to its transport). */
  retryable?(allowed: boolean): void;
  /** The request's id when the client sent none. @default a new one (see protocol/request-id.ts) */
  madeRequestId?(): string;
}


/** Route label of requests that matched no route (defined with the other metric labels, which sit below the app). */
export { UNMATCHED_ROUTE };

/** The app-wide settings dispatch needs. */
export interface DispatchConfig {
  readonly router: Router<RouteEntry>;
  readonly logger: Logger;
  readonly requestTimeoutMs: number;
  readonly exposeErrors: boolean;
  /** Sessions, templates, error pages, auth. */
  readonly services: AppServices;
  /** How requests read and echo their id (`requestIdHeader`). */
  readonly requestOptions: RequestOptions;
  /** App-wide middleware (`app.use`), in order. */
  readonly middleware: readonly Middleware[];
  /** `app.onError`, if set. */
  readonly onError: ErrorHook | undefined;
  /** `app.onFinish` hooks, in order. */
  readonly onFinish: readonly FinishHook[];
  /**
   * True when any of the three above is set: every request then takes the middleware path (a `Context` for every
   * request, 404s included). False keeps the path of an app without hooks as it was (no extra promise or closure).
   */
  readonly hooked: boolean;
  /** AsyncLocalStorage every request runs in (`asyncContext`), or undefined. */
  readonly storage: RequestStorage | undefined;
}

/** Handle one request message, handing the response to `sink` (an outlet, or bytes-only). See {@link DispatchResult}. */
export function handleRequest(
  config: DispatchConfig,
  msg: RawMessage,
  sink: ReplySink,
  options: DispatchOptions = {},
): Promise<DispatchResult> {
  const started = performance.now();
  const counting = outletFor(sink);
  try {
    const req = new Request(msg, requestOptions(config.requestOptions, options), options);
    return new Exchange(config, req, counting, options, started).run();
  } catch (err) {
    return Promise.resolve(frameworkFailure(config, options, counting, started, err));
  }
}

function requestOptions(base: RequestOptions, options: DispatchOptions): RequestOptions {
  const { upload, bodySource } = options;
  if (upload === undefined && bodySource === undefined) return base;
  return { ...base, ...(upload === undefined ? {} : { upload }), ...(bodySource === undefined ? {} : { bodySource }) };
}

/** The error page template for `reply`, if the app has one: 404 and 500 only, and not for replies with JSON details. */
function errorPage(services: AppServices, reply: ErrorReply): string | undefined {
  if (services.templates === undefined || reply.details !== undefined) return undefined;
  return reply.status === 404 ? services.errorPages[404] : reply.status === 500 ? services.errorPages[500] : undefined;
}

/** Only a bug in the framework itself lands here; the request still gets an outcome. */
function frameworkFailure(config: DispatchConfig, options: DispatchOptions, counting: ResponseOutlet, started: number, err: unknown): DispatchResult {
  (options.logger ?? config.logger).error({ err }, 'dispatch failed');
  return {
    outcome: 'error',
    status: 0,
    route: UNMATCHED_ROUTE,
    method: '',
    bytesSent: counting.bytes,
    closed: counting.closed,
    durationMs: performance.now() - started,
    requestId: '',
  };
}

type WorkOutcome = 'response' | 'error';

const RESPONSE: Promise<WorkOutcome> = Promise.resolve('response');
const toResponse = (): WorkOutcome => 'response';

class Exchange {
  readonly #config: DispatchConfig;
  readonly #req: Request;
  readonly #counting: ResponseOutlet;
  readonly #gate: GatedOutlet;
  readonly #external: AbortSource | undefined;
  readonly #started: number;
  readonly #match: RouteMatch<RouteEntry>;
  readonly #route: string;
  readonly #timeoutMs: number;
  readonly #deadline: number;
  readonly #baseLog: Logger;
  #childLog: Logger | undefined;
  /** The handler's signal; its AbortSignal is only built if the handler reads `ctx.signal`. */
  readonly #cancellation = new Cancellation();
  readonly #handlerRes: Response;
  /** The response being produced: the handler's, or the one the framework replaced it with. */
  #current: Response;
  /** Every response created, the handler's first: the first whose head went out gives the status. */
  readonly #responses: Response[] = [];
  /** The context of the middleware path (made once, also for a 404); undefined on the plain path. */
  #ctx: Context | undefined;
  /** Per-request finish hooks (`ctx.onFinish`), with the context that registered each. */
  #finishers: Array<{ readonly fn: FinishHook; readonly ctx: Context }> | undefined;
  /** What a handler or middleware threw last (for `FinishInfo.error`); NO_ERROR while nothing was. */
  #error: unknown = NO_ERROR;
  #errorHookRan = false;
  /** The status a parked connection reports (see `Parked`); 0 while not parked. */
  #parkedStatus = 0;

  constructor(config: DispatchConfig, req: Request, counting: ResponseOutlet, options: DispatchOptions, started: number) {
    this.#config = config;
    this.#req = req;
    this.#counting = counting;
    this.#gate = new GatedOutlet(counting);
    this.#external = options.cancellation ?? options.signal;
    this.#started = started;
    this.#match = config.router.match(req.method, req.path);
    const entry = this.#match.kind === 'found' ? this.#match.handler : this.#match.kind === 'method-not-allowed' ? this.#match.handlers[0] : undefined;
    this.#route = entry?.label ?? UNMATCHED_ROUTE;
    this.#timeoutMs = (this.#match.kind === 'found' ? this.#match.handler.timeoutMs : undefined) ?? config.requestTimeoutMs;
    if (this.#match.kind === 'found' && this.#match.handler.retry !== undefined) options.retryable?.(this.#match.handler.retry);
    this.#deadline = Date.now() + this.#timeoutMs;
    this.#baseLog = options.logger ?? config.logger;
    this.#handlerRes = new Response(this.#gate, req);
    this.#current = this.#handlerRes;
    this.#responses.push(this.#handlerRes);
  }

  /** The request's child logger (`route`, `method`, `connId`), made on first use: most requests never log. */
  get #log(): Logger {
    return (this.#childLog ??= markRequestBound(this.#baseLog.child({ route: this.#route, method: this.#req.method, connId: this.#req.connId, requestId: this.#req.requestId })));
  }

  /**
   * Run the request. The handler is called synchronously; when it answered synchronously (returned a value or
   * sent its response before returning) the response is already with the sink, so neither the deadline nor an
   * abort from outside can change the outcome any more (both only act before the response is sent): no timer,
   * no listener and no settle promise are made. Otherwise the deadline and the external signal race the work.
   */
  run(): Promise<DispatchResult> {
    const external = this.#external;
    if (external?.aborted) {
      this.#cancellation.abort(external.reason);
      return Promise.resolve(this.#end('aborted', 0));
    }
    const storage = this.#config.storage;
    const work = storage === undefined ? this.#work() : runInRequestScope(storage, this.#req, () => this.#work());
    // A handler that read its signal (or subscribed to it) still sees an abort while its response is written.
    if (this.#current.sent && !this.#cancellation.observed) {
      return work.then(
        (outcome) => this.#end(outcome, this.#wireStatus()),
        (err: unknown) => {
          this.#log.error({ err }, 'dispatch failed');
          return this.#end('error', this.#wireStatus());
        },
      );
    }
    return this.#race(work, external);
  }

  /** The work against the deadline (counted from the start of dispatch) and the external signal. */
  async #race(work: Promise<WorkOutcome>, external: AbortSource | undefined): Promise<DispatchResult> {
    let settle: (outcome: DispatchOutcome) => void = () => undefined;
    const settled = new Promise<DispatchOutcome>((resolve) => {
      settle = resolve;
    });
    // A signal that fires once the response is complete changes nothing but the handler's own signal.
    const abortedFromOutside = (reason: unknown): void => {
      this.#cancellation.abort(reason);
      if (this.#current.sent) return;
      this.#gate.shut();
      settle('aborted');
    };
    const onDeadline = (): void => {
      if (this.#current.sent) return;
      this.#gate.shut();
      this.#cancellation.abort(new DOMException('request deadline exceeded', 'TimeoutError'));
      settle('timeout');
    };
    const unsubscribe = external === undefined ? undefined : onAbort(external, abortedFromOutside);
    const timer = setTimeout(onDeadline, Math.max(0, this.#timeoutMs - (performance.now() - this.#started)));
    work.then(settle, (err: unknown) => {
      // #work catches everything it can; this is the last guard so dispatch cannot hang.
      this.#log.error({ err }, 'dispatch failed');
      settle('error');
    });
    const outcome = await settled;
    clearTimeout(timer);
    unsubscribe?.();
    if (outcome === 'timeout') return this.#answerTimeout();
    return this.#end(outcome, this.#wireStatus());
  }

  #adopt(sink: ResponseOutlet): Response {
    const res = new Response(sink, this.#req);
    this.#responses.push(res);
    this.#current = res;
    return res;
  }

  /** Status of the first response whose head reached the sink; 0 if none did. */
  #wireStatus(): number {
    for (const r of this.#responses) if (r.headersSent) return r.statusCode;
    return this.#parkedStatus;
  }

  #scope(params: Params): ContextInit {
    // Positional, not an options object: this runs once per request.
    return new ExchangeScope(this, this.#req, this.#handlerRes, params, this.#deadline, this.#route, this.#config.services);
  }

  /** Register a per-request finish hook (`ctx.onFinish`). */
  addFinisher(fn: FinishHook, ctx: Context): void {
    (this.#finishers ??= []).push({ fn, ctx });
  }

  /** The handler's signal (built on first read). */
  get handlerSignal(): AbortSignal {
    return this.#cancellation.signal;
  }

  /** The request's child logger (built on first read). */
  get handlerLog(): Logger {
    return this.#log;
  }

  /**
   * Route, validate, run the handler, send its answer. Never rejects. Synchronous up to the first thing that
   * really waits: a handler that returns a value has its response handed to the sink before this returns.
   */
  #work(): Promise<WorkOutcome> {
    if (this.#config.hooked || (this.#match.kind === 'found' && this.#match.handler.middleware !== undefined)) return this.#workThroughChain();
    try {
      const match = this.#match;
      if (match.kind === 'not-found') return this.#fail(new HttpError(404));
      if (match.kind === 'method-not-allowed') {
        const allow = match.allow.join(', ');
        if (this.#req.method !== 'OPTIONS') return this.#fail(new HttpError(405, undefined, { headers: { Allow: allow } }));
        return this.#handlerRes.header('Allow', allow).empty(204).then(toResponse, (err: unknown) => this.#fail(err));
      }
      const value = match.handler.run(this.#scope(match.params));
      if (isPromiseLike(value)) return Promise.resolve(value).then((v) => this.#finish(v), (err: unknown) => this.#fail(err));
      return this.#finish(value);
    } catch (err) {
      return this.#fail(err);
    }
  }

  /**
   * The middleware path: one `Context` (also for a 404 or 405, so app middleware and hooks see every request), the
   * app's middleware, the route's, then the route's validation and handler. Never rejects.
   */
  #workThroughChain(): Promise<WorkOutcome> {
    try {
      const match = this.#match;
      const ctx = this.#context();
      let core: (ctx: Context) => unknown;
      if (match.kind === 'found') core = (c) => match.handler.handle(c);
      else if (match.kind === 'not-found') core = notFound;
      else {
        const allow = match.allow.join(', ');
        core = this.#req.method === 'OPTIONS' ? (c) => c.res.header('Allow', allow).empty(204) : () => methodNotAllowed(allow);
      }
      const middleware = match.kind === 'found' ? match.handler.middleware : undefined;
      return runChain(ctx, this.#config.middleware, middleware, core).then(
        (v) => this.#finish(v),
        (err: unknown) => this.#fail(err),
      );
    } catch (err) {
      return this.#fail(err);
    }
  }

  /** The request's `Context` on the middleware path, made on first use. */
  #context(): Context {
    if (this.#ctx === undefined) {
      const match = this.#match;
      const scope = this.#scope(match.kind === 'found' ? match.params : NO_PARAMS);
      this.#ctx = match.kind === 'found' ? match.handler.context(scope) : new Context(scope, undefined);
    }
    return this.#ctx;
  }

  /** Turn the handler's return value into the response, unless it already answered. Never rejects. */
  #finish(value: unknown): Promise<WorkOutcome> {
    try {
      const res = this.#handlerRes;
      if (this.#cutOff() || res.sent) return RESPONSE;
      if (res.headersSent) {
        this.#log.warn('handler returned with its response stream open; ending it');
        return res.end().then(toResponse, (err: unknown) => this.#fail(err));
      }
      // A parked connection (SSE stream, long-poll) is answered later by pushes: the request ends here; see parked.ts.
      if (value instanceof Parked) return this.#park(value);
      if (value === undefined) {
        this.#log.error('handler returned without sending a response');
        return this.#sendError({ status: 500, message: statusText(500) });
      }
      return sendReturnValue(res, value).then(toResponse, (err: unknown) => this.#fail(err));
    } catch (err) {
      return this.#fail(err);
    }
  }

  #park(parked: Parked): Promise<WorkOutcome> {
    this.#parkedStatus = parked.status;
    return parked.commit(this.#gate).then(toResponse, async (err: unknown) => {
      if (parked.head === undefined) return this.#fail(err);
      // The stream's head is out: the only honest signal left is cutting the connection.
      this.#log.error({ err }, 'parking the connection failed after its head was sent');
      await this.#quietly(() => this.#gate.close(), 'could not close after a failed park');
      return 'error';
    });
  }

  /** Log `err` and answer it: through `app.onError` when set, else (or when it did not answer) see `errorReply`. */
  async #fail(err: unknown): Promise<WorkOutcome> {
    this.#error = err;
    if (this.#cutOff(err)) return 'error';
    if (this.#handlerRes.finished) {
      // The transport has the whole response; only the log can tell.
      this.#log.error({ err }, 'request failed after its response was sent');
      return 'response';
    }
    const hook = this.#config.onError;
    if (hook !== undefined && !this.#errorHookRan && !this.#responses.some((r) => r.headersSent)) {
      this.#errorHookRan = true;
      if (await this.#answeredByHook(hook, err)) return 'error';
    }
    const reply = errorReply(err, this.#config.exposeErrors);
    if (reply.status >= 500) this.#log.error({ err }, 'handler failed');
    else this.#log.debug({ status: reply.status, reason: err instanceof Error ? err.message : String(err) }, 'request rejected');
    return this.#sendError(reply);
  }

  /** Let `app.onError` answer `err`; true when it did (a value sent, or a response sent on `ctx.res`). */
  async #answeredByHook(hook: ErrorHook, err: unknown): Promise<boolean> {
    const res = this.#handlerRes;
    try {
      const value = await hook(err, this.#context());
      if (this.#cutOff()) return true;
      if (res.sent) return true;
      if (res.headersSent) {
        await res.end();
        return true;
      }
      if (value === undefined) return false;
      await sendReturnValue(res, value);
      return true;
    } catch (hookErr) {
      this.#log.error({ err: hookErr }, 'onError hook failed');
      return res.headersSent;
    }
  }

  async #sendError(reply: ErrorReply): Promise<'error'> {
    if (this.#responses.some((r) => r.headersSent)) {
      // The status line is out: the only honest signal left is cutting the connection.
      await this.#quietly(() => this.#gate.close(), 'could not close after a failed response');
      return 'error';
    }
    const res = this.#adopt(this.#gate);
    await this.#quietly(async () => {
      try {
        const page = errorPage(this.#config.services, reply);
        if (page !== undefined && (await this.#sendErrorPage(res, reply, page))) return;
        await sendErrorReply(res, reply);
      } catch (err) {
        if (res.headersSent) throw err;
        // A bad header or unserialisable details: fall back to the bare status.
        this.#log.error({ err }, 'could not build error response');
        await this.#adopt(this.#gate).text(statusText(reply.status), reply.status);
      }
    }, 'could not send error response');
    return 'error';
  }

  /**
   * Send the app's templated page for `reply` (`errorPages`); false when rendering failed (logged), so the caller
   * sends the plain reply instead.
   */
  async #sendErrorPage(res: Response, reply: ErrorReply, page: string): Promise<boolean> {
    let html: string;
    try {
      html = await (this.#config.services.templates as TemplateEngine).render(page, { status: reply.status, message: reply.message, path: this.#req.path });
    } catch (err) {
      this.#log.error({ err, page }, 'could not render error page');
      return false;
    }
    for (const [name, value] of Object.entries(reply.headers ?? {})) res.header(name, value);
    await res.html(html, reply.status);
    return true;
  }

  /** 504 when nothing was sent yet, otherwise close: the handler's writes are already cut off. */
  async #answerTimeout(): Promise<DispatchResult> {
    this.#log.warn({ timeoutMs: this.#timeoutMs }, 'request timed out');
    const status = this.#wireStatus();
    if (status !== 0) {
      await this.#quietly(() => this.#counting.close(), 'could not close after timeout');
      return this.#end('timeout', status);
    }
    const res = this.#adopt(this.#counting);
    await this.#quietly(() => res.text(statusText(504), 504), 'could not send timeout response');
    return this.#end('timeout', res.headersSent ? 504 : 0);
  }

  /** After a timeout or an abort the outcome is settled and the gate shut: a late result is only logged. */
  #cutOff(err?: unknown): boolean {
    if (this.#gate.isOpen) return false;
    this.#log.debug(err === undefined ? {} : { err }, 'handler finished after the request ended');
    return true;
  }

  async #quietly(action: () => Promise<void>, message: string): Promise<void> {
    try {
      await action();
    } catch (err) {
      this.#log.warn({ err }, message);
    }
  }

  #result(outcome: DispatchOutcome, status: number): DispatchResult {
    return {
      outcome,
      status,
      route: this.#route,
      method: this.#req.method,
      bytesSent: this.#counting.bytes,
      closed: this.#counting.closed,
      durationMs: performance.now() - this.#started,
      requestId: this.#req.requestId,
    };
  }

  /** The result, after the finish hooks (the app's, then the request's) when there are any. */
  #end(outcome: DispatchOutcome, status: number): DispatchResult | Promise<DispatchResult> {
    const result = this.#result(outcome, status);
    if (this.#finishers === undefined && this.#config.onFinish.length === 0) return result;
    return this.#runFinishHooks(result);
  }

  async #runFinishHooks(result: DispatchResult): Promise<DispatchResult> {
    const info: FinishInfo = this.#error === NO_ERROR ? result : { ...result, error: this.#error };
    const appHooks = this.#config.onFinish;
    // Hooks a finish hook registers late are not run: the list is taken once.
    const own = this.#finishers ?? [];
    this.#finishers = [];
    await runFinishHooks(appHooks.length === 0 ? undefined : this.#context(), appHooks, own, info, this.#log);
    return result;
  }
}

const NO_PARAMS: Params = Object.freeze({});

/** `Exchange.#error` before anything was thrown (`undefined` can be thrown). */
const NO_ERROR = Symbol('no error');

function notFound(): never {
  throw new HttpError(404);
}

function methodNotAllowed(allow: string): never {
  throw new HttpError(405, undefined, { headers: { Allow: allow } });
}
