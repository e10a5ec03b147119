/**
 * The application framework: App, routing, handlers, context, validation, in-process testing.
 * @module
 */

export { App, DEFAULT_REQUEST_TIMEOUT_MS } from './app';
export type { AppOptions } from './app';
export { Cancellation } from './cancellation';
export type { AbortSource } from './cancellation';
export { Context } from './context';
export type { ContextInit, ContextKey, ContextValue, ContextVariableMap, QueryObject } from './context';
export { DEFAULT_START_TIMEOUT_MS, DEFAULT_STOP_TIMEOUT_MS } from './lifecycle';
export type { LifecycleHook, LifecycleOptions } from './lifecycle';
export type { ErrorHook, FinishHook, FinishInfo, Middleware, MiddlewareOption, Next } from './middleware';
export { UNMATCHED_ROUTE } from './handle-request';
export type { DispatchOptions, DispatchOutcome, DispatchResult } from './handle-request';
export { Handler, HANDLER_METHODS } from './handler';
export type { HandlerClass, HandlerFn, HandlerMethod, MethodMap, RouteTarget } from './handler';
export { MAX_TIMEOUT_MS } from './route-entry';
export type { RouteEntry, RouteOptions } from './route-entry';
export { allowList, compilePattern, METHOD_ALL, OrderedRouter } from './router';
export type { Params, RouteMatch, RoutePattern, Router } from './router';
export { buildRawMessage, CollectingSink, RecordingOutlet } from './testing/testing';
export type { TestRequestInit, TestResponse } from './testing/testing';
export { lazySchema, validate, validateOrThrow } from './validate';
export type { StandardIssue, StandardResult, StandardSchema, ValidationIssue } from './validate';
export { SocketContext, SocketRoutes } from './socket';
export type { SocketConfig, SocketEvent, SocketHandler, SocketResult, SocketRouteOptions } from './socket';
export { createWebSocketRoute, DEFAULT_MAX_MESSAGE_BYTES, WebSocketContext } from './websocket/websocket';
export type { WebSocketCloseInfo, WebSocketContextInit, WebSocketHandler, WebSocketMessage, WebSocketOutbox, WebSocketRoute, WebSocketRouteOptions } from './websocket/websocket';
export { dispatchFrame } from './websocket/frame';
export type { FrameEvent, FrameOutcome, FrameResult } from './websocket/frame';
export { dispatchHandshake } from './websocket/handshake';
export { WEBSOCKET_METHOD } from './websocket/session';
export type { WebSocketConfig, WebSocketEventOptions } from './websocket/session';
export { buildWebSocketMessage, parseFrames } from './testing/websocket-testing';
export type { TestFrame, TestFrames, TestHandshake, TestWebSocketInit, TestWebSocketMessage } from './testing/websocket-testing';
export { NO_SERVICES } from './services';
export type { AppServices, AuthOptions } from './services';
export { Session, SessionManager } from './session/session';
export type { SessionOptions } from './session/session';
export type { SessionData, SessionStore } from './session/store';
export { MemoryStore } from './session/memory-store';
export type { MemoryStoreOptions } from './session/memory-store';
export { RedisStore } from './session/redis-store';
export type { RedisSessionClient, RedisStoreOptions } from './session/redis-store';
export { LiquidTemplates } from './templates/liquid';
export type { LiquidTemplatesOptions } from './templates/liquid';
export type { ErrorPages, TemplateEngine } from './templates/engine';
export { DEFAULT_LOGIN_URL, requireUser } from './auth';
export { Conn, connOf } from './conn';
export type { ConnLike } from './conn';
export { DEFAULT_PARK_TIMEOUT_MS, DEFAULT_SSE_HEARTBEAT_MS, groupByServer, MEMBER_KINDS, pollReply, Pusher } from './push';
export type { BroadcastMessage, BroadcastOptions, HubJoinOptions, JoinOptions, KindBodies, MemberKind, ParkOptions, PushTransport, RoomHub, RoomMember, StreamOptions } from './push';
export { lastEventId, Parked } from './parked';
export { formatSseEvent, sseComment } from './sse-format';
export type { SseEvent } from './sse-format';
export type { DisconnectHook, DisconnectResult } from './disconnect';
export { ABNORMAL_CLOSURE } from './websocket/dropped';
