/**
 * m2pool's public API: everything not exported here is internal.
 * @module
 */

/** The application framework (Brubeck-style handlers, routes, deadlines, validation, in-process testing). */
export { App, Context, Handler, OrderedRouter, UNMATCHED_ROUTE, validate, validateOrThrow } from './app';
export type {
  AppOptions,
  DispatchResult,
  HandlerFn,
  MethodMap,
  Params,
  RouteOptions,
  RoutePattern,
  RouteTarget,
  StandardSchema,
  TestRequestInit,
  TestResponse,
  ValidationIssue,
} from './app';
/** The HTTP model. */
export { HttpError, isHttpError, Request, Response } from './http';
export type { CookieOptions, ReplySink, ResponseStream } from './http';
/** Errors and exit codes. */
export { ConfigError, ErrorCode, ExitCode, M2PoolError, ProtocolError } from './errors';
/** The worker runtime, for embedding (the CLI's `m2pool worker` uses it). */
export { runWorker } from './worker/main';
export type { WorkerOptions } from './worker/options';
/** The Mongrel2 wire protocol, for tools and tests. */
export * as protocol from './protocol';
