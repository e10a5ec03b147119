/**
 * m2pool's public API: everything not exported here is internal.
 * @module
 */

/** The application framework (Brubeck-style handlers, routes, deadlines, validation, in-process testing). */
export { App, Cancellation, Context, Handler, OrderedRouter, SocketContext, UNMATCHED_ROUTE, lazySchema, validate, validateOrThrow, WebSocketContext } from './app';
/** Sessions (memory and Redis stores) and templates. */
export { LiquidTemplates, MemoryStore, RedisStore, requireUser, Session } from './app';
export type {
  AuthOptions,
  ErrorPages,
  LiquidTemplatesOptions,
  MemoryStoreOptions,
  RedisSessionClient,
  RedisStoreOptions,
  SessionData,
  SessionOptions,
  SessionStore,
  TemplateEngine,
  AppOptions,
  ContextKey,
  ContextValue,
  ContextVariableMap,
  DispatchResult,
  ErrorHook,
  FinishHook,
  FinishInfo,
  LifecycleHook,
  LifecycleOptions,
  Middleware,
  MiddlewareOption,
  Next,
  FrameEvent,
  FrameOutcome,
  FrameResult,
  HandlerFn,
  MethodMap,
  Params,
  RouteOptions,
  RoutePattern,
  RouteTarget,
  SocketEvent,
  SocketHandler,
  SocketResult,
  SocketRouteOptions,
  StandardSchema,
  TestFrame,
  TestFrames,
  TestHandshake,
  TestRequestInit,
  TestResponse,
  TestWebSocketInit,
  TestWebSocketMessage,
  ValidationIssue,
  WebSocketCloseInfo,
  WebSocketEventOptions,
  WebSocketHandler,
  WebSocketMessage,
  WebSocketRouteOptions,
} from './app';
/** Request ids: the current request's id (with `asyncContext`), a pino mixin adding it to log lines, trace context. */
export { currentRequestId, requestMixin } from './log/request-context';
export { isValidRequestId, parseTraceparent } from './protocol/request-id';
export type { TraceContext } from './protocol/request-id';
/** Push to any connection, rooms, SSE streams, long-poll and disconnect events. */
export { ABNORMAL_CLOSURE, Conn, formatSseEvent, lastEventId, Parked, Pusher, sseComment } from './app';
export type { BroadcastOptions, ConnLike, DisconnectHook, MemberKind, ParkOptions, PushTransport, RoomHub, RoomMember, SseEvent, StreamOptions } from './app';
/** WebSocket close codes and opcodes, for `ctx.close(code)` and tests. */
export { WS_CLOSE, WS_OPCODE } from './protocol/websocket';
/** The HTTP model. */
export { CookieSigner, DEFAULT_MULTIPART_LIMITS, FormFile, HttpError, isHttpError, parseMultipart, Request, Response } from './http';
export type { BodySource, CollectedFile, CollectedForm, CollectFormOptions, CookieOptions, FormField, FormPart, MultipartLimits, ReplySink, ResponseStream, SavedFile } from './http';
/** Errors and exit codes. */
export { ConfigError, ErrorCode, ExitCode, M2PoolError, ProtocolError } from './errors';
/**
 * Not here, so that an app and its tests load no native code: the worker runtime (`m2pool/worker`, which loads
 * zeromq) and the transports. The wire codecs are pure: `m2pool/protocol`, or `protocol` below.
 */
export * as protocol from './protocol';
