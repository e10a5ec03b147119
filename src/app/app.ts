/**
 * `App`: the route table plus `dispatch`, the one entry point the worker runtime calls per request.
 * @module
 */

import { pino, type Logger } from 'pino';
import { ConfigError } from '../errors';
import { requestStorage } from '../log/request-context';
import type { ReplySink } from '../http/sink';
import type { RawMessage } from '../protocol/types';
import type { Conn } from './conn';
import type { QueryObject } from './context';
import { runDisconnect, type DisconnectHook, type DisconnectResult } from './disconnect';
import { handleRequest, type DispatchConfig, type DispatchOptions, type DispatchResult } from './handle-request';
import { methodInvokers, type HandlerFn, type RouteTarget } from './handler';
import { DEFAULT_START_TIMEOUT_MS, DEFAULT_STOP_TIMEOUT_MS, Lifecycle, type LifecycleHook, type LifecycleOptions } from './lifecycle';
import { middlewareList, type ErrorHook, type FinishHook, type Middleware } from './middleware';
import { checkTimeout, createRouteEntry, type RouteEntry, type RouteOptions } from './route-entry';
import { Pusher } from './push';
import { OrderedRouter, type RoutePattern, type Router } from './router';
import { createServices, type AuthOptions } from './services';
import type { SessionOptions } from './session/session';
import type { ErrorPages, TemplateEngine } from './templates/engine';
import { SocketRoutes, type SocketEvent, type SocketHandler, type SocketResult, type SocketRouteOptions } from './socket';
import { testRequest, type TestRequestInit, type TestResponse } from './testing/testing';
import { createWebSocketRoute, type WebSocketHandler, type WebSocketRoute, type WebSocketRouteOptions } from './websocket/websocket';
import { dispatchFrame, type FrameEvent, type FrameResult } from './websocket/frame';
import { dispatchHandshake } from './websocket/handshake';
import { WEBSOCKET_METHOD, type WebSocketConfig, type WebSocketEventOptions } from './websocket/session';
import { testFrame, testHandshake, type TestFrames, type TestHandshake, type TestWebSocketInit, type TestWebSocketMessage } from './testing/websocket-testing';

/** Options of {@link App}. */
export interface AppOptions {
  /** Deadline of every request in ms, unless its route sets `timeoutMs`. @default 30000 */
  readonly requestTimeoutMs?: number;
  /** Logger; each request gets a child with `route`, `method`, `connId`. @default a silent pino logger */
  readonly logger?: Logger;
  /** Show the message of 5xx and unexpected errors to clients (stacks never are). @default false */
  readonly exposeErrors?: boolean;
  /** Route table implementation. @default new OrderedRouter() */
  readonly router?: Router<RouteEntry>;
  /** Sessions (`ctx.session`): a store and the cookie's secrets. @default none (ctx.session throws) */
  readonly sessions?: SessionOptions;
  /** Template engine of `ctx.render()` and the error pages. @default none */
  readonly templates?: TemplateEngine;
  /** Templated 404 and 500 pages (needs `templates`). @default plain-text error replies */
  readonly errorPages?: ErrorPages;
  /** The current-user resolver of guarded routes (`auth` route option) and `ctx.currentUser()`. @default none */
  readonly auth?: AuthOptions;
  /**
   * The header that carries request ids: a valid incoming value is the request's id (`ctx.requestId`), and every
   * response echoes the id in it. `false`: no id is read from or echoed in a header (ids are still made, and a
   * `traceparent` still honoured). @default 'X-Request-Id'
   */
  readonly requestIdHeader?: string | false;
  /**
   * Run every request inside an `AsyncLocalStorage`, so loggers built with `requestMixin` add its `requestId` to
   * lines written while it runs, even where `ctx.log` is not at hand; `currentRequestId()` reads it. Off by default:
   * on Node 20 it makes every promise in the process dearer (README, "Request ids"). @default false
   */
  readonly asyncContext?: boolean;
  /** Deadline of the start hooks (`onStart`) together, in ms; a worker also stops at its `bootTimeoutMs`. @default 10000 */
  readonly startTimeoutMs?: number;
  /** Deadline of the stop hooks (`onStop`) together, in ms. @default 5000 */
  readonly stopTimeoutMs?: number;
}

/** Default of {@link AppOptions.requestTimeoutMs}. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/**
 * A web application: routes (first match wins) and the handlers behind them.
 * @example
 * const app = new App();
 * app.get('/hello/:name', (ctx) => `hello ${ctx.params['name']}`);
 * const res = await app.request('/hello/world'); // res.status === 200, res.text() === 'hello world'
 */
export class App {
  /** The app's logger (the default for requests). */
  readonly logger: Logger;
  /**
   * Tells the worker and `m2pool serve` that this app reads a body left on disk (`DispatchOptions.bodySource`):
   * a multipart async upload is then parsed from its temp file instead of being read into memory.
   */
  readonly readsBodySource = true;
  #config: DispatchConfig;
  readonly #labels = new Set<string>();
  readonly #websockets = new OrderedRouter<WebSocketRoute>();
  readonly #sockets = new SocketRoutes();
  readonly #lifecycle = new Lifecycle();
  readonly #startTimeoutMs: number;
  readonly #stopTimeoutMs: number;
  readonly #disconnectHooks: DisconnectHook[] = [];
  /**
   * Push to any connection of the pool, and rooms (see `app/push.ts`). Bound by the worker runtime when it
   * starts; `app.request()` and `m2pool serve` have none (calls reject with `M2P_ERR_PUSH_UNAVAILABLE`).
   */
  readonly push = new Pusher();

  constructor(options: AppOptions = {}) {
    const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    checkTimeout('requestTimeoutMs', requestTimeoutMs);
    this.#startTimeoutMs = options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
    checkTimeout('startTimeoutMs', this.#startTimeoutMs);
    this.#stopTimeoutMs = options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
    checkTimeout('stopTimeoutMs', this.#stopTimeoutMs);
    const idHeader = options.requestIdHeader ?? 'X-Request-Id';
    if (idHeader !== false && !/^[A-Za-z0-9-]+$/.test(idHeader)) throw new ConfigError([`requestIdHeader must be a header name (letters, digits, "-"), got ${JSON.stringify(idHeader)}`]);
    this.logger = options.logger ?? pino({ level: 'silent' });
    this.#config = {
      router: options.router ?? new OrderedRouter<RouteEntry>(),
      logger: this.logger,
      requestTimeoutMs,
      exposeErrors: options.exposeErrors ?? false,
      services: createServices(options),
      requestOptions: idHeader === false ? {} : { requestIdHeader: idHeader, requestIdKey: idHeader.toLowerCase() },
      middleware: [],
      onError: undefined,
      onFinish: [],
      hooked: false,
      storage: options.asyncContext === true ? requestStorage : undefined,
    };
  }

  /**
   * Add app-wide middleware: it runs for every HTTP request (404s and 405s included), whenever it was registered
   * relative to the routes, in `use` order, before each route's own middleware (`RouteOptions.middleware`). See
   * `Middleware` for the model. WebSocket frames and socket messages do not pass through it.
   * @example app.use(async (ctx, next) => { if (!ctx.req.header('x-api-key')) throw new HttpError(401); return next(); });
   */
  use(...middleware: Middleware[]): this {
    const added = middlewareList('app.use', middleware) ?? [];
    this.#hooks({ middleware: [...this.#config.middleware, ...added] });
    return this;
  }

  /**
   * Set the app-wide error hook (replacing an earlier one): it answers what a handler or middleware threw, the
   * framework's 404, 405 and 400 included. See `ErrorHook`.
   * @example app.onError((err, ctx) => { ctx.res.status(500); return { error: 'internal', requestId: ctx.requestId }; });
   */
  onError(hook: ErrorHook): this {
    if (typeof hook !== 'function') throw new TypeError('onError: the hook must be a function');
    this.#hooks({ onError: hook });
    return this;
  }

  /**
   * Add a hook that runs after every HTTP request's reply was handed over, whatever the outcome (see `FinishHook`).
   * @example app.onFinish((ctx, info) => ctx.log.info({ status: info.status, outcome: info.outcome }, 'done'));
   */
  onFinish(hook: FinishHook): this {
    if (typeof hook !== 'function') throw new TypeError('onFinish: the hook must be a function');
    this.#hooks({ onFinish: [...this.#config.onFinish, hook] });
    return this;
  }

  /**
   * Add a start hook: run in every worker (and by `m2pool serve`) before it takes traffic, in registration order,
   * within `startTimeoutMs` together. A rejection or an overrun is a boot failure (the worker exits 3). Tests run
   * them with `await app.start()`.
   * @example app.onStart(async (signal) => { pool = await openPool({ signal }); });
   */
  onStart(hook: LifecycleHook): this {
    this.#lifecycle.onStart(hook);
    return this;
  }

  /**
   * Add a stop hook: run after the drain (no request in flight any more), before the process exits, in reverse
   * registration order, within `stopTimeoutMs` together. Tests run them with `await app.stop()`.
   * @example app.onStop(() => pool.end());
   */
  onStop(hook: LifecycleHook): this {
    this.#lifecycle.onStop(hook);
    return this;
  }

  /**
   * Run the start hooks (once; later calls join the first). Rejects with `M2PoolError` code `M2P_ERR_APP_HOOK` when
   * one fails or they overrun `timeoutMs`.
   * @example before(() => app.start());
   */
  start(options: LifecycleOptions = {}): Promise<void> {
    return this.#lifecycle.start(options.timeoutMs ?? this.#startTimeoutMs);
  }

  /**
   * Run the stop hooks (once), every one even if an earlier one failed. Rejects with `M2P_ERR_APP_HOOK` naming what
   * failed or overran `timeoutMs`.
   * @example after(() => app.stop());
   */
  stop(options: LifecycleOptions = {}): Promise<void> {
    return this.#lifecycle.stop(options.timeoutMs ?? this.#stopTimeoutMs);
  }

  /** The deadline `start()` uses by default (the worker takes the smaller of it and what is left of its boot timeout). */
  get startTimeoutMs(): number {
    return this.#startTimeoutMs;
  }

  #hooks(change: Partial<Pick<DispatchConfig, 'middleware' | 'onError' | 'onFinish'>>): void {
    const next = { ...this.#config, ...change };
    this.#config = { ...next, hooked: next.middleware.length > 0 || next.onError !== undefined || next.onFinish.length > 0 };
  }

  /**
   * Change the default request deadline (routes with their own `timeoutMs` keep it). The worker calls this
   * for `m2pool worker --request-timeout-ms`.
   */
  setDefaultTimeout(ms: number): void {
    checkTimeout('requestTimeoutMs', ms);
    this.#config = { ...this.#config, requestTimeoutMs: ms };
  }

  /** Route labels in registration order (for pre-creating metric series). */
  get routes(): readonly string[] {
    return [...this.#labels];
  }

  /**
   * Register a route: a `Handler` subclass (its verb methods), a function (every method), or a
   * `{ get, post, … }` map. Throws `ConfigError` for a bad pattern, timeout, or a target with no verbs.
   */
  route<B = unknown, Q = QueryObject>(pattern: RoutePattern, target: RouteTarget<B, Q>, options: RouteOptions<B, Q> = {}): this {
    const label = options.name ?? (typeof pattern === 'string' ? pattern : pattern.source);
    if (options.auth !== undefined && this.#config.services.auth === undefined) {
      throw new ConfigError([`route ${label} has auth: ${JSON.stringify(options.auth)} but the app has no auth: new App({ auth: { currentUser } })`]);
    }
    for (const invoker of methodInvokers(target)) {
      this.#config.router.add(invoker.method, pattern, createRouteEntry(label, invoker, options, this.#config.services.auth?.loginUrl));
    }
    this.#labels.add(label);
    return this;
  }

  /** GET (and HEAD, unless a HEAD route comes first). */
  get<B = unknown, Q = QueryObject>(pattern: RoutePattern, fn: HandlerFn<B, Q>, options?: RouteOptions<B, Q>): this {
    return this.#verb('get', pattern, fn, options);
  }

  post<B = unknown, Q = QueryObject>(pattern: RoutePattern, fn: HandlerFn<B, Q>, options?: RouteOptions<B, Q>): this {
    return this.#verb('post', pattern, fn, options);
  }

  put<B = unknown, Q = QueryObject>(pattern: RoutePattern, fn: HandlerFn<B, Q>, options?: RouteOptions<B, Q>): this {
    return this.#verb('put', pattern, fn, options);
  }

  patch<B = unknown, Q = QueryObject>(pattern: RoutePattern, fn: HandlerFn<B, Q>, options?: RouteOptions<B, Q>): this {
    return this.#verb('patch', pattern, fn, options);
  }

  delete<B = unknown, Q = QueryObject>(pattern: RoutePattern, fn: HandlerFn<B, Q>, options?: RouteOptions<B, Q>): this {
    return this.#verb('delete', pattern, fn, options);
  }

  head<B = unknown, Q = QueryObject>(pattern: RoutePattern, fn: HandlerFn<B, Q>, options?: RouteOptions<B, Q>): this {
    return this.#verb('head', pattern, fn, options);
  }

  /** OPTIONS (without it, OPTIONS is answered 204 with Allow). */
  options<B = unknown, Q = QueryObject>(pattern: RoutePattern, fn: HandlerFn<B, Q>, options?: RouteOptions<B, Q>): this {
    return this.#verb('options', pattern, fn, options);
  }

  /** Every method. */
  all<B = unknown, Q = QueryObject>(pattern: RoutePattern, fn: HandlerFn<B, Q>, options?: RouteOptions<B, Q>): this {
    return this.route(pattern, fn, options);
  }

  /**
   * Handle one request message (`handleRequest`: router, middleware and handler, response) and hand the response
   * to `sink`: a front's `ResponseOutlet` (the response structure: `m2pool serve`, `app.request()`), or a
   * bytes-only `ReplySink` (the worker's), for which it is serialised as HTTP/1.1. Never rejects; see
   * `DispatchResult` for the four outcomes. Calls `sink.close()` after the response when the request wants close
   * (HTTP/1.0 without keep-alive, `Connection: close`), after a timeout once headers were sent, and when
   * a handler fails mid-stream. After `options.signal` fires nothing more reaches the sink.
   */
  dispatch(msg: RawMessage, sink: ReplySink, options: DispatchOptions = {}): Promise<DispatchResult> {
    return handleRequest(this.#config, msg, sink, options);
  }

  /**
   * Send a request in process (no ZeroMQ) and read the response the app made (the test front, `RecordingOutlet`).
   * @example const res = await app.request('/items?page=2', { method: 'POST', body: { name: 'a' } });
   */
  request(input: string, init: TestRequestInit = {}): Promise<TestResponse> {
    return testRequest((msg, sink, options) => this.dispatch(msg, sink, options), input, init);
  }

  /**
   * Register a WebSocket route. It shares the pattern syntax (and labels) of HTTP routes but not their table, so
   * `/chat` can serve a GET page and a WebSocket. Every event runs statelessly: any worker may receive any frame
   * of a connection (see `WebSocketHandler`). Throws `ConfigError` for a bad pattern, handler or option.
   * @example app.websocket('/ws/echo', { message: (ctx, msg) => msg.text ?? msg.data });
   */
  websocket(pattern: RoutePattern, handler: WebSocketHandler, options: WebSocketRouteOptions = {}): this {
    const label = options.name ?? (typeof pattern === 'string' ? pattern : pattern.source);
    this.#websockets.add(WEBSOCKET_METHOD, pattern, createWebSocketRoute(label, handler, options));
    this.#labels.add(label);
    return this;
  }

  /**
   * Register a handler for Mongrel2 JSON (`@name`) or XML (`<name`) socket messages, by exact path. Throws
   * `ConfigError` for a bad path, a duplicate or a bad timeout.
   * @example app.socket('@chat', (ctx, data) => ({ type: 'ack', got: JSON.parse(data) }));
   */
  socket(path: string, handler: SocketHandler, options: SocketRouteOptions = {}): this {
    this.#sockets.add(path, handler, options);
    this.#labels.add(path);
    return this;
  }

  /** Answer a `WEBSOCKET_HANDSHAKE` message (`accept`: the value Mongrel2 computed). Never rejects. */
  dispatchHandshake(msg: RawMessage, accept: string, sink: ReplySink, options: WebSocketEventOptions = {}): Promise<DispatchResult> {
    return dispatchHandshake(this.#websocketConfig(), msg, accept, sink, options);
  }

  /** Handle one inbound WebSocket frame (`WEBSOCKET` message). Never rejects. */
  dispatchFrame(frame: FrameEvent, sink: ReplySink, options: WebSocketEventOptions = {}): Promise<FrameResult> {
    return dispatchFrame(this.#websocketConfig(), frame, sink, options);
  }

  /** Handle one JSON/XML socket message. Never rejects. */
  dispatchSocketMessage(event: SocketEvent, sink: ReplySink, options: WebSocketEventOptions = {}): Promise<SocketResult> {
    return this.#sockets.dispatch(this.#config, event, sink, options);
  }

  /**
   * Send a WebSocket handshake in process and read the reply (status, headers, frames `open` sent).
   * @example const hs = await app.websocketHandshake('/ws/echo'); // hs.status === 101
   */
  websocketHandshake(path: string, init: TestWebSocketInit = {}): Promise<TestHandshake> {
    return testHandshake((msg, accept, sink, options) => this.dispatchHandshake(msg, accept, sink, options), path, init);
  }

  /**
   * Deliver one WebSocket message in process and decode the frames written back.
   * @example const { frames } = await app.websocketMessage('/ws/echo', 'hi'); // frames[0].text() === 'hi'
   */
  websocketMessage(path: string, message: TestWebSocketMessage, init: TestWebSocketInit = {}): Promise<TestFrames> {
    return testFrame((frame, sink, options) => this.dispatchFrame(frame, sink, options), path, message, init);
  }

  /**
   * Run `hook` when a client connection goes away without the app closing it (Mongrel2's disconnect notice):
   * once per connection, on one worker. In the dispatch topology the dispatcher also reports connections the
   * framework closed (a WebSocket close handshake, `app.push.close`).
   * @example app.onDisconnect((conn) => presence.delete(String(conn)));
   */
  onDisconnect(hook: DisconnectHook): this {
    if (typeof hook !== 'function') throw new TypeError('onDisconnect needs a function');
    this.#disconnectHooks.push(hook);
    return this;
  }

  /** Whether any disconnect hook is registered. */
  get hasDisconnectHooks(): boolean {
    return this.#disconnectHooks.length > 0;
  }

  /**
   * Handle one disconnect event: the hooks, then — given the handshake of a WebSocket — its route's `close`
   * handler with code 1006. The worker runtime calls it; never rejects.
   */
  dispatchDisconnect(conn: Conn, handshake?: RawMessage): Promise<DisconnectResult> {
    return runDisconnect({ hooks: this.#disconnectHooks, logger: this.logger, websocket: this.#websocketConfig() }, conn, handshake);
  }

  #websocketConfig(): WebSocketConfig {
    const { router, logger, requestTimeoutMs, exposeErrors } = this.#config;
    return { routes: this.#websockets, httpRouter: router, logger, requestTimeoutMs, exposeErrors };
  }

  #verb<B, Q>(verb: 'get' | 'post' | 'put' | 'patch' | 'delete' | 'head' | 'options', pattern: RoutePattern, fn: HandlerFn<B, Q>, options: RouteOptions<B, Q> | undefined): this {
    return this.route<B, Q>(pattern, { [verb]: fn }, options);
  }
}
